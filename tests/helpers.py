"""What the tests share: the sandboxed app, Chatra's webhook bodies, waiting for effects."""

import asyncio
import contextlib
import itertools
import os
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from bot.core.engine.arrivals import Arrivals
from bot.core.engine.backoff import WORK
from bot.core.engine.worker import Worker, WorkerHooks, WorkerSettings
from bot.running.timers import leader_jobs
from bot.trying.sandboxed import RunningApp
from handlers.app_keys import CORE, LEADERSHIP
from sandbox.chatra import agent_says, chat_event, visitor_says
from sandbox.server import free_port, wait_for
from sandbox.slack_wire import reply_deleted, reply_edited, thread_reply
from storage import Store, open_database
from tests.conftest import CHANNEL

SETTING_NAMES = ("SLACK", "MEMBRANE", "CHATRA", "DATABASE", "HOST", "PORT", "LOG_")
VALID = {  # the settings without which the bridge does not start
    "slack_bot_token": "xoxb-1-secret-token-value",
    "slack_signing_secret": "signing-secret-value",
    "slack_channel_id": "C0123456",
    "membrane_connection_id": "conn-1",
    "membrane_token": "a.b.c",
    "chatra_webhook_secret": "webhook-secret-0123456789",
}

__all__ = [
    "RunningApp",
    "agent_says",
    "chat_event",
    "run_sql",
    "visitor_says",
    "wait_for",
    "worker_over",
]


async def start_chat(
    bridge: RunningApp,
    slack,
    client_id: str = "client-1",
    says: str = "Hi",
    *,
    messages: list[dict] | None = None,
    channel: str = CHANNEL,
    **client,
):
    """A visitor starts a chat (Chatra's chatStarted webhook: `says`, or `messages`; `client`:
    the visitor's details) and the bridge settles: the chat's card, as Slack shows it."""
    before = {card.ts for card in slack.parents(channel)}
    messages = [visitor_says("m1", says)] if messages is None else messages
    await bridge.webhook(chat_event("chatStarted", client_id, messages, **client))
    await bridge.settled()
    [card] = [card for card in slack.parents(channel) if card.ts not in before]
    return card


async def answer(bridge: RunningApp, slack, text: str, user: str = "U0AGENT01") -> str:
    """What `/chatra <text>` answers `user`: at once, or through its response URL."""
    before = len(slack.responses)
    status, ack = await bridge.slash_command(text, user=user)
    assert status == 200
    if ack:  # answered at once
        return ack["text"]
    await wait_for(lambda: len(slack.responses) > before)
    return slack.responses[-1]["text"]


async def share_files(app: RunningApp, thread_ts: str, ts: str, files: list[dict]) -> None:
    """A person shares `files` (as Slack's fake made them) in a reply to the chat's thread."""
    event = reply(thread_ts, ts, "Here:", subtype="file_share")
    await app.slack_event({**event, "files": files}, event_id())
    await app.settled()


async def all_settled(*bridges: RunningApp) -> None:
    for bridge in bridges:
        await bridge.settled(within=20)


async def leader_then_other(settings, clock) -> tuple[RunningApp, RunningApp]:
    """Two bridges whose leader's jobs run every 0.05 s: the first started leads."""
    fast = settings.model_copy(
        update={"escalation_check_seconds": 0.05, "leader_check_seconds": 0.1}
    )
    leader = await RunningApp(fast, clock).start()
    await wait_for(lambda: leader.app[LEADERSHIP].leading)
    return leader, await RunningApp(fast, clock).start()


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any of the bridge's settings, and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_NAMES)}
    return {**env, **settings}


def findings_by_check(findings) -> dict[str, tuple[bool, str]]:
    """`check`'s findings: whether each passed, and what it said."""
    return {f.check: (f.ok, f.detail) for f in findings}


def run_sql(settings, sql: str, params: tuple = ()) -> list[tuple]:
    """A statement on the bridge's database (either kind), as an operator would run it: from
    another thread (a process of its own, as it were), never the event loop's."""

    def operator() -> list[tuple]:
        db = open_database(settings.database(), migrate=False)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    with ThreadPoolExecutor(1) as elsewhere:
        return elsewhere.submit(operator).result()


@contextmanager
def another_process_holds(
    settings, tables: str = "inbox", *, changing: str | None = None
) -> Iterator[str]:
    """Another process (a migration, a backup, `chatra-bridge db`) holds the database: the file's
    write lock on SQLite, an exclusive lock on `tables` on PostgreSQL (or only the rows the
    statement `changing` changes); its dialect. Held from a thread of its own until the block
    ends."""
    taken, done = threading.Event(), threading.Event()
    dialect: list[str] = []

    def hold() -> None:
        db = open_database(settings.database(), migrate=False)
        try:
            with db.transaction():
                if db.dialect == "postgresql":
                    db.execute(changing or f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
                dialect.append(db.dialect)
                taken.set()
                done.wait()
        finally:
            db.close()

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(10)
    try:
        yield dialect[0]
    finally:
        done.set()
        holder.join()


def worker_over(
    store: Store, handle, holder: str = "bridge-1", judge=None, first_pause=0.01, **options
) -> Worker:
    """A worker on `store`'s inbox carrying events out with `handle(event)` (the worker then
    records each done), trying again within `first_pause` seconds."""
    options = {"lease_seconds": 20.0, "rescan_interval": 1, **options}
    settings = WorkerSettings(holder, retry=WORK.from_(first_pause), **options)

    async def carried_out(event, lease) -> bool:
        await handle(event)
        return False

    hooks = WorkerHooks(judge=judge) if judge else WorkerHooks()
    return Worker(store, carried_out, Arrivals(), settings, hooks)


async def answered_as_its_card_lands(
    bridge: RunningApp, slack, answer: Callable[[str], dict], event_id: str
) -> str:
    """A person answers a new chat's card (`answer(card_ts)`: the event) the moment Slack shows
    it, before the bridge has Slack's answer to the post: that event is answered 503, for Slack
    to send again. The card's ts, once the bridge settled."""
    slack.answer_after["chat.postMessage"] = 0.5
    early: list[asyncio.Future] = []

    def a_person_answers_at_once(posted) -> None:
        if posted.thread_ts is None and not early:  # the card
            sent = bridge.slack_event(answer(posted.ts), event_id, resend=False)
            early.append(asyncio.ensure_future(sent))

    slack.on_post = a_person_answers_at_once
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "Hi")]))
    [first] = await wait_for(lambda: early)
    assert (await first)[0] == 503
    slack.on_post, slack.answer_after = None, {}
    await bridge.settled()
    [card] = slack.parents(CHANNEL)
    return card.ts


def three_free_ports() -> int:
    """A port of 127.0.0.1 that is free, and the two after it (the sandbox's fakes take them)."""
    while True:
        port = free_port()
        with contextlib.ExitStack() as held:
            try:
                for taken in (port, port + 1, port + 2):
                    held.enter_context(socket.socket()).bind(("127.0.0.1", taken))
            except OSError:
                continue
        return port


@contextlib.asynccontextmanager
async def running_sandbox(where: Path, env: dict[str, str]) -> AsyncIterator[tuple[int, str]]:
    """`chatra-bridge sandbox` as a person starts it: its port and what it printed once ready;
    stopped with Ctrl-C, which must end it cleanly."""
    port = three_free_ports()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "sandbox", "--port", str(port)),
        cwd=where,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    said = [b""]
    while not said[-1].startswith(b"Ctrl-C"):
        said.append(await asyncio.wait_for(process.stdout.readline(), 30))
        assert said[-1], b"".join(said).decode()  # it ended before saying it is ready
    try:
        yield port, b"".join(said).decode()
    finally:
        process.send_signal(2)  # Ctrl-C
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0


# Slack events as Slack sends them: a person's reply in a chat's thread, its edit, its deletion.
_event_ids = itertools.count(1)


def event_id() -> str:
    return f"Ev{next(_event_ids):08d}"


def reply(thread_ts: str, ts: str, text: str, user: str = "U0AGENT01", **extra) -> dict:
    """A person's reply in a thread under a post of the bot's, as Slack sends it."""
    return thread_reply(CHANNEL, user, text, ts, thread_ts) | extra


def edit(thread_ts: str, ts: str, old: str, new: str) -> dict:
    return reply_edited(CHANNEL, "U0AGENT01", thread_ts, ts, old, new)


def deletion(thread_ts: str, ts: str, old: str) -> dict:
    return reply_deleted(CHANNEL, "U0AGENT01", thread_ts, ts, old)


# What the leader does, and what a person sees of it.
async def checks_run(app) -> None:
    """Every job of the leader's round carried out once, now, and what it owed posted: what is
    due on the clock has been done, whatever the machine's speed."""
    for _, job in leader_jobs(app.app[CORE], app.settings).values():
        await job()
    await app.settled()


def nudges(slack, thread_ts: str) -> list[str]:
    return [r.text for r in slack.replies(CHANNEL, thread_ts) if ":hourglass:" in r.text]


def button_on(card, label: str) -> dict:
    buttons = next(b for b in card.blocks if b["type"] == "actions")["elements"]
    return next(b for b in buttons if b["text"]["text"] == label)
