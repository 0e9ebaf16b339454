"""A throwaway PostgreSQL server from the machine's own packages, for the tests, the bench and CI:
`initdb` in a directory of its own, `pg_ctl` on a free port of 127.0.0.1, stopped and gone after.

    python -m sandbox.postgres available    # exit status 0 when the packages are installed
    python -m sandbox.postgres start DIR    # prints the URL to export as TEST_POSTGRES_URL
    python -m sandbox.postgres stop DIR

PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user.
"""

import argparse
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from sandbox.server import free_port

SERVER_USER = "postgres"
_DIRECTORIES: dict[str, Path] = {}  # a server's URL -> its directory


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    return Path(versions[-1]).parent if versions else None


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


def start(directory: Path, *, fast: bool = False) -> str:
    """Create (unless there is one) and start a server in `directory`, on the port it had if it
    ran before; its URL. `fast`: no fsync (tests only: a power cut is not what they are about)."""
    tools = bin_dir()
    if tools is None:
        raise RuntimeError("PostgreSQL is not installed (no pg_ctl): apt-get install postgresql")
    directory = directory.resolve()
    data, sockets = directory / "data", directory / "sockets"
    sockets.mkdir(parents=True, exist_ok=True)
    if not data.exists():
        _run_as_server([str(tools / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--no-sync"], directory)  # fmt: skip
    known = directory / "url"
    port = int(known.read_text().rsplit(":", 1)[1].split("/")[0]) if known.exists() else free_port()
    options = [f"-p {port}", "-c listen_addresses=127.0.0.1", f"-k {sockets}",
               "-c max_connections=300", "-c shared_buffers=64MB"]  # fmt: skip
    if fast:
        options += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
    _run_as_server([str(tools / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
                    "-o", " ".join(options), "-w", "-t", "60", "start"], directory)  # fmt: skip
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    known.write_text(url)
    _DIRECTORIES[url] = directory
    return url


def crash(server_url: str) -> None:
    """Stop the server at once, as a crash would (`pg_ctl stop -m immediate`)."""
    stop(_DIRECTORIES[server_url])


def restart(server_url: str, *, fast: bool = False) -> None:
    """Start a crashed server again, on its port."""
    start(_DIRECTORIES[server_url], fast=fast)


def stop(directory: Path) -> None:
    tools = bin_dir()
    data = directory.resolve() / "data"
    if tools is not None and (data / "postmaster.pid").exists():
        _run_as_server([str(tools / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       directory)  # fmt: skip


_NAMES = itertools.count(1)


@contextmanager
def running_server(*, fast: bool = False) -> Iterator[str]:
    """A server in a directory of its own (one the server's user can reach), gone after."""
    directory = Path(tempfile.mkdtemp(prefix="chatra-bridge-pg-"))
    try:
        yield start(directory, fast=fast)
    finally:
        stop(directory)
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server at `server_url`, dropped after: its URL."""
    name = f"bridge_{os.getpid()}_{next(_NAMES)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _run_as_server(command: list[str], directory: Path) -> None:
    if os.geteuid() == 0:  # the server will not run as root
        user = pwd.getpwnam(SERVER_USER)
        for path in [directory, *directory.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=directory, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.postgres", description=__doc__)
    parser.add_argument("action", choices=["available", "start", "stop"])
    parser.add_argument("directory", type=Path, nargs="?", default=Path("."))
    parser.add_argument("--fast", action="store_true", help="no fsync: for tests")
    args = parser.parse_args()
    if args.action == "available":
        return 0 if bin_dir() is not None else 1
    try:
        if args.action == "start":
            print(start(args.directory, fast=args.fast))
        else:
            stop(args.directory)
    except RuntimeError as error:
        print(f"sandbox.postgres: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
