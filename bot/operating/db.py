"""`chatra-bridge db ...`: care of an existing database from the command line (cron included).
It never creates one: a path that holds no database is named, with where it came from."""

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from dotenv import dotenv_values

from storage import Database, DatabaseError, FailedEvent, Inbox, maintenance, open_database
from storage.database import is_url, without_password
from storage.schema import SCHEMA_VERSION, SchemaTooNew, schema_version

DEFAULT_PATH = "./chatra-bridge.db"


DATABASE_HELP = (
    "the SQLite file or a postgresql:// URL (default: DATABASE_URL or DATABASE_PATH, from the"
    " environment or .env)"
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--database",
        default=argparse.SUPPRESS,  # given before or after the action alike
        help=DATABASE_HELP,
    )
    database = commands.add_parser(
        "db",
        parents=[where],
        help="database care: migrate, stats, failed, retry, prune, backup, copy",
    )
    care = database.add_subparsers(dest="action", required=True)
    care.add_parser("migrate", parents=[where], help="bring the schema up to date")
    care.add_parser("stats", parents=[where], help="what is stored, as JSON")
    pruning = care.add_parser("prune", parents=[where], help="delete what is old and done with")
    pruning.add_argument("--older-than", required=True, help="an age like 90d, 12h or 30m")
    pruning.add_argument("--vacuum", action="store_true", help="then give the space back")
    care.add_parser("failed", parents=[where], help="events that could not be carried out")
    retrying = care.add_parser("retry", parents=[where], help="replay failed events")
    retrying.add_argument("ids", nargs="*", type=int, help="the ids `db failed` lists")
    retrying.add_argument("--all", action="store_true", help="every failed event")
    copying = care.add_parser("backup", parents=[where], help="an online copy, safe while running")
    copying.add_argument("destination")
    copying.add_argument("--force", action="store_true", help="overwrite an existing copy")
    moving = care.add_parser(
        "copy", parents=[where], help="everything into a new database (SQLite -> PostgreSQL, say)"
    )
    moving.add_argument("--to", required=True, help="a postgresql:// URL or a new SQLite file")


def where_the_database_is(given: str | None) -> tuple[str, str]:
    """The database (a path or a URL), and where that came from (for a message that helps)."""
    if given:
        return given, "--database"
    for name in ("DATABASE_URL", "DATABASE_PATH"):
        if os.environ.get(name):
            return os.environ[name], f"{name} in the environment"
    from_file = dotenv_values(".env") if Path(".env").exists() else {}
    for name in ("DATABASE_URL", "DATABASE_PATH"):
        if from_file.get(name):
            return str(from_file[name]), f"{name} in {Path('.env').resolve()}"
    return DEFAULT_PATH, f"the default, in {Path.cwd()}"


def existing_database(given: str | None) -> str:
    """The database to care for (see `where_the_database_is`); ValueError when there is none:
    a command line never creates one."""
    where, source = where_the_database_is(given)
    if not is_url(where) and not Path(where).is_file():
        raise ValueError(
            f"no database at {Path(where).resolve()} (from {source}): run this where the"
            " bridge runs, or give --database PATH"
        )
    return where


def run(args: argparse.Namespace) -> int:
    try:
        where = existing_database(getattr(args, "database", None))
        age = maintenance.parse_age(args.older_than) if args.action == "prune" else 0.0
        # `db migrate` says what changed; care of a big database may take a while
        db = open_database(where, migrate=False, create=False, statement_timeout=3600)
        try:
            print(_care(db, without_password(where), args, age))
        finally:
            db.close()
    except (ValueError, SchemaTooNew, DatabaseError, OSError) as error:
        print(f"chatra-bridge db: {error}", file=sys.stderr)
        return 1
    return 0


def _care(db: Database, where: str, args: argparse.Namespace, age: float) -> str:
    if args.action == "migrate":
        before, after = maintenance.migrate(db)
        return f"{where}: " + (f"schema {before} -> {after}" if before != after else "up to date")
    if args.action == "stats":
        return json.dumps(maintenance.stats(db), indent=2)
    if args.action == "prune":
        deleted = maintenance.prune(db, age)
        if args.vacuum:
            maintenance.vacuum(db)
        return f"pruned older than {args.older_than}: {json.dumps(deleted)}"
    if args.action == "failed":
        return _failed_events(asyncio.run(Inbox(db).failed()))
    if args.action == "retry":
        if not args.all and not args.ids:
            raise ValueError("name the events to retry (their ids) or give --all")
        retried = asyncio.run(Inbox(db).retry(None if args.all else args.ids))
        when = "at once" if db.shared else "within INBOX_RESCAN_SECONDS (30 s)"
        count = len(retried)
        said = (
            f"{count} failed event{'s' * (count != 1)} made pending again: the running bridge"
            f" takes them up {when}, or at its next start"
        )
        unknown = sorted(set(args.ids) - set(retried)) if not args.all else []
        if unknown:
            said += f"\nno failed event {', '.join(map(str, unknown))}: `db failed` lists them"
        return said
    if args.action == "copy":
        return _copy(db, where, args.to)
    destination = Path(args.destination)
    if not destination.parent.is_dir():
        raise ValueError(f"cannot back up to {destination}: {destination.parent} is no directory")
    if destination.exists() and not args.force:
        raise ValueError(f"{destination} exists: give --force to overwrite it")
    size = maintenance.backup(db, destination)
    return f"{where} copied to {destination} ({size / 2**20:.1f} MB)"


def _copy(db: Database, where: str, to: str) -> str:
    """Stop the bridge first: what it stores meanwhile would not be copied."""
    if schema_version(db) != SCHEMA_VERSION:
        raise ValueError(f"{where} has an earlier schema: run `db migrate` on it first")
    target = open_database(to, statement_timeout=3600)
    try:
        copied = maintenance.copy(db, target)
    finally:
        target.close()
    rows = ", ".join(f"{table}: {count}" for table, count in copied.items() if count)
    return (
        f"{where} copied to {without_password(to)}: {rows or 'nothing to copy'}. Point the"
        " bridges at it (DATABASE_URL or DATABASE_PATH) and start them."
    )


def _failed_events(failed: list[FailedEvent]) -> str:
    if not failed:
        return "No failed events."
    plural = "s" * (len(failed) != 1)
    lines = [f"{len(failed)} failed event{plural} (replay: db retry ID or --all):"]
    for event in failed:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(event.received_at))
        lines.append(
            f"  {event.id}  {when}  {event.source}  chat {event.conversation}"
            f"  {event.attempts} tries  {event.error or 'no reason recorded'}"
        )
    return "\n".join(lines)
