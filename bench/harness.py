"""The real app as a child process against the fake Slack and Membrane, for the bench scripts."""

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from sandbox import postgres
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack
from sandbox.slack_wire import signed

BOT_TOKEN = "xoxb-bench-bot-token"
SIGNING_SECRET = "bench-signing-secret"
WEBHOOK_SECRET = "bench-webhook-secret-0123"
CHANNEL = "C0BENCH001"
CONNECTION = "conn-bench"
MEMBRANE_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImJlbmNoIn0.c2ln"
AGENT = "U0AGENT01"
# Sam has no Chatra agent linked: Chatra takes his replies under his Slack name and email.
PEOPLE = {
    AGENT: {
        "id": AGENT,
        "name": "sam",
        "profile": {"display_name": "Sam", "email": "sam@example.org"},
    }
}


async def start_fakes() -> tuple[FakeSlack, FakeMembrane]:
    slack = await FakeSlack(BOT_TOKEN, {CHANNEL}, PEOPLE).start()
    membrane = await FakeMembrane(CONNECTION).start()
    return slack, membrane


def app_env(
    slack: FakeSlack, membrane: FakeMembrane, port: int, workdir: Path, **settings: str
) -> dict[str, str]:
    """The app's environment: the fakes' addresses, test secrets, and `settings` on top."""
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK", "MEMBRANE", "CHATRA"))
    }
    return inherited | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CHANNEL_ID": CHANNEL,
        "SLACK_API_URL": slack.api_url,
        "MEMBRANE_CONNECTION_ID": CONNECTION,
        "MEMBRANE_TOKEN": MEMBRANE_TOKEN,
        "MEMBRANE_API_URL": membrane.url,
        "CHATRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DATABASE_PATH": str(workdir / "bridge.db"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **{name.upper(): value for name, value in settings.items()},
    }


@dataclass(frozen=True)
class Front:
    """Where Chatra and Slack send their requests: one bridge, or the balancer before several."""

    url: str

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/chatra/webhook/{WEBHOOK_SECRET}"


@contextlib.contextmanager
def shared_database(database: str) -> Iterator[str | None]:
    """A PostgreSQL database of its own (on a throwaway server, fsync on as in production), or
    None for SQLite's file."""
    if database == "sqlite":
        yield None
        return
    with postgres.running_server() as server, postgres.fresh_database(server) as url:
        yield url


class App:
    """`python -m bot serve` as a child process that can be killed and started again."""

    def __init__(self, env: dict[str, str], log_path: Path, command: list[str] | None = None):
        self.env, self.log_path = env, log_path
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.webhook_url = f"{self.url}/chatra/webhook/{WEBHOOK_SECRET}"
        self.command = command or [sys.executable, "-m", "bot", "serve"]
        self.process: asyncio.subprocess.Process | None = None
        self.log = log_path.open("a")  # every run of the app appends here

    async def start(self, http: aiohttp.ClientSession) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command, env=self.env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                async with http.get(self.url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the app did not start; see {self.log_path}")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no clean-up, no goodbye
        await self.process.wait()

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        self.log.close()

    async def pending(self, http: aiohttp.ClientSession) -> int:
        async with http.get(self.url + "/healthz") as response:
            return int((await response.json())["pending_events"])


async def deliver(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> None:
    """POST until the app answers 2xx, as Chatra and Slack retry an unanswered delivery."""
    while True:
        try:
            async with http.post(url, data=body, headers=headers) as response:
                if response.status < 300:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)


def slack_headers(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", **signed(SIGNING_SECRET, body)}


JSON = {"Content-Type": "application/json"}
