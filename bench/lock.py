"""A table locked by another session for a few seconds while events flow (a migration, a
`VACUUM FULL` or a long `chatra-bridge db prune` would): how long the Chatra webhook, Slack's
events and /healthz take to answer meanwhile, and whether every message arrives once after.

    python -m bench.perf --only lock

On PostgreSQL another session takes `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE`; on SQLite
another connection holds the file's write lock (SQLite locks the whole file). Webhooks and Slack
events are sent as Chatra and Slack send them: again until answered 2xx.
"""

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.harness import JSON, App, Front, app_env, shared_database, slack_headers, start_fakes
from bench.load import UNPACED, Bench
from sandbox.server import free_port, wait_for
from sandbox.slack_wire import thread_reply
from storage import open_database

CHATS = 10
HELD = 4.0  # seconds the lock is held
RATE = 20  # webhooks a second, and as many Slack replies


@dataclass
class Answers:
    """How one endpoint answered while the table was locked: the slowest answer, the 503s."""

    slowest_ms: float = 0.0
    refused: int = 0  # answered 503: sent again by Chatra or Slack
    answered: int = 0

    def note(self, began: float, status: int) -> None:
        self.slowest_ms = max(self.slowest_ms, round((time.perf_counter() - began) * 1000, 1))
        self.answered += 1
        self.refused += status == 503


@dataclass
class Locked:
    database: str
    table: str
    held_seconds: float
    webhook: Answers = field(default_factory=Answers)
    slack: Answers = field(default_factory=Answers)
    healthz: Answers = field(default_factory=Answers)
    sent: int = 0
    lost: int = 0
    duplicated: int = 0
    drained_seconds: float = 0.0


@contextlib.contextmanager
def held(url: str, table: str) -> Iterator[None]:
    """Another session holds `table` (PostgreSQL), or the whole file (SQLite), until the block
    ends: from a thread of its own, as another process would."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        db = open_database(url, migrate=False)
        try:
            with db.transaction():
                if db.dialect == "postgresql":
                    db.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                taken.set()
                done.wait()
        finally:
            db.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    taken.wait(10)
    try:
        yield
    finally:
        done.set()
        holder.join()


async def measure_lock(workdir: Path, database: str, table: str) -> Locked:
    slack, membrane = await start_fakes()
    report = Locked(database, table if database == "postgresql" else "(the file)", HELD)
    with shared_database(database) as url:
        shared = {"database_url": url} if url else {}
        env = app_env(slack, membrane, free_port(), workdir / f"lock-{table}", **UNPACED, **shared)
        app = App(env, workdir / f"lock-{database}-{table}.log")
        bench = Bench(slack, membrane, Front(app.url), app)
        try:
            await app.start(bench.http)
            await bench.open_chats(CHATS)
            texts: list[str] = []
            began = time.perf_counter()
            stop = began + 2 + HELD + 2  # the lock from 2 s in, for HELD seconds
            flows = [
                _flow(lambda k: _webhook(bench, k, texts, report.webhook), stop),
                _flow(lambda k: _reply(bench, k, texts, report.slack), stop),
                _flow(lambda k: _health(bench, report.healthz), stop),
            ]
            running = asyncio.gather(*flows)
            await asyncio.sleep(2)
            lock_url = url or env["DATABASE_PATH"]
            await asyncio.to_thread(_hold_for, lock_url, table, HELD)
            await running
            sent_at = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await wait_for(lambda: all(bench.seen.counts[t] for t in texts), within=120)
            report.drained_seconds = round(time.perf_counter() - sent_at, 1)
            report.sent = len(texts)
            report.lost = sum(1 for t in texts if not bench.seen.counts[t])
            report.duplicated = sum(max(bench.seen.counts[t] - 1, 0) for t in texts)
        finally:
            await bench.close()
            await app.stop()
            await slack.stop()
            await membrane.stop()
    return report


def _hold_for(url: str, table: str, seconds: float) -> None:
    with held(url, table):
        time.sleep(seconds)


async def _flow(send: Callable[[int], Awaitable[None]], stop: float) -> None:
    """`send` RATE times a second until `stop`, each on its own (a slow one holds up none)."""
    tasks, k = [], 0
    while time.perf_counter() < stop:
        tasks.append(asyncio.create_task(send(k)))
        k += 1
        await asyncio.sleep(1 / RATE)
    await asyncio.gather(*tasks)


async def _until_taken(http: aiohttp.ClientSession, url: str, body: bytes, headers, answers):
    """As Chatra and Slack do: again until answered 2xx; each answer's time is noted."""
    while True:
        began = time.perf_counter()
        try:
            async with http.post(url, data=body, headers=headers) as response:
                answers.note(began, response.status)
                if response.status < 300:
                    return
        except aiohttp.ClientError:
            answers.note(began, 0)
        await asyncio.sleep(0.2)


async def _webhook(bench: Bench, k: int, texts: list[str], answers: Answers) -> None:
    text = f"lock-w-{k}"
    texts.append(text)
    n = k % CHATS
    message = {"id": f"m-{text}", "type": "client", "message": text, "createdAt": 1}
    client = {"id": f"client-{n:05d}", "name": f"Chat {n:05d}"}
    body = json.dumps({"eventName": "chatFragment", "client": client, "messages": [message]})
    await _until_taken(bench.http, bench.front.webhook_url, body.encode(), JSON, answers)


async def _reply(bench: Bench, k: int, texts: list[str], answers: Answers) -> None:
    text = f"lock-s-{k}"
    texts.append(text)
    n = k % CHATS
    ts = f"{1_800_000_000 + n}.{k:06d}"
    event = thread_reply("C0BENCH001", "U0AGENT01", text, ts, bench.threads[n])
    body = json.dumps({"type": "event_callback", "event_id": f"Ev-{text}", "event": event})
    url = bench.front.url + "/slack/events"
    await _until_taken(bench.http, url, body.encode(), slack_headers(body.encode()), answers)


async def _health(bench: Bench, answers: Answers) -> None:
    began = time.perf_counter()
    async with bench.http.get(bench.front.url + "/healthz") as response:
        await response.read()
        answers.note(began, response.status)
