"""An operator's worst day: Slack or the database gone for a while, a backlog of posts, a stranger
holding connections open. Nothing acknowledged is lost, and the bridge says what is going on."""

import asyncio
import logging
import socket
import subprocess
import sys
import time

import pytest

import bot.running.server
import storage.sqlite
from bot.running.app import create_app
from bot.running.server import Quieter, bind, serve
from handlers.app_keys import DATABASE
from sandbox.chatra import chat_event, visitor_says
from storage import DatabaseUnavailable, Inbox, InboxEvent
from tests.conftest import CHANNEL
from tests.helpers import (
    RunningApp,
    another_process_holds,
    clean_env,
    event_id,
    reply,
    wait_for,
    worker_over,
)


@pytest.fixture
async def app(settings):
    fast = settings.model_copy(update={"escalation_check_seconds": 0.1})
    running = await RunningApp(fast).start()
    yield running
    await running.close()


def replies_of(slack, client_name: str) -> list[str]:
    [card] = [m for m in slack.parents(CHANNEL) if client_name in m.text]
    return slack.chat(CHANNEL, card.ts)


async def test_slack_down_for_a_while_loses_nothing_and_says_so_when_back(app, slack):
    slack.fail_next("*", status=500, error="internal_error", times=10_000)  # all of Slack
    for n in range(3):
        said = [visitor_says("", f"{n}.{i}", at=1_000 + i) for i in range(2)]
        await app.webhook(chat_event("chatStarted", f"c{n}", said, name=f"Chat {n}"))
    await wait_for(lambda: slack.calls_to("chat.postMessage"), within=5)

    async def degraded() -> dict | None:
        status, health = await app.request("GET", "/healthz")
        waiting = health["status"] == "degraded" and health["owed_posts"] == 9
        return health if status == 200 and waiting else None  # 3 cards, their 6 messages

    health = await wait_for(degraded)
    assert health["down"]["slack"]["reason"] == "HTTP 500"
    _, metrics = await app.request("GET", "/metrics")
    assert 'chatra_bridge_service_down{service="slack"} 1.0' in metrics
    assert "chatra_bridge_slack_posts_waiting 9.0" in metrics  # 3 cards, their 6 messages
    await asyncio.sleep(2)  # Slack stays down a while: every event keeps waiting
    assert await Inbox(app.app[DATABASE]).count("failed") == 0

    slack.faults.clear()  # Slack is back
    await app.settled(within=30)
    back = await wait_for(lambda: [m.text for m in slack.parents(CHANNEL) if "is back" in m.text])

    for n in range(3):
        assert replies_of(slack, f"Chat {n}") == [f"{n}.0", f"{n}.1"]
    assert back[0].startswith(":white_check_mark: Slack is back after ")
    assert "(HTTP 500): 3 messages waited for it and are on the way, in order." in back[0]
    _, health = await app.request("GET", "/healthz")
    assert health["status"] == "ok" and health["down"] == {}


async def test_a_reply_written_while_slack_is_down_waits_and_is_sent_as_its_author(
    app, slack, membrane
):
    await app.webhook(chat_event("chatStarted", "c1", [visitor_says("", "hi")], name="Jane"))
    await app.settled()
    thread_ts = slack.parents(CHANNEL)[0].ts
    slack.fail_next("*", status=503, error="service_unavailable", times=10_000)
    await app.slack_event(reply(thread_ts, "1800000001.000400", "Hello Jane"), event_id())
    await asyncio.sleep(1.5)  # Slack cannot say who Sam is: nothing is sent as nobody
    assert membrane.runs_of("send-agent-message") == []
    slack.faults.clear()
    await app.settled(within=15)

    [sent] = membrane.runs_of("send-agent-message")
    assert sent["text"] == "Hello Jane" and sent["agentId"] == "a9"  # Sam, as Ana, his agent
    assert not [r for r in slack.replies(CHANNEL, thread_ts) if ":warning:" in r.text]


async def test_an_agents_answer_never_waits_behind_the_chats_slack_posts(settings, slack, membrane):
    """Slack takes a post of this channel every 5 s: the agent's answer reaches Chatra while the
    visitor's messages still wait for their post. (How fast: `python -m bench.perf`.)"""
    slack.post_limit = (5, 1.0)  # Slack: about one post a second per channel, short bursts
    paced = settings.model_copy(update={"slack_post_burst": 1, "slack_posts_per_second": 0.2})
    app = await RunningApp(paced).start()
    try:
        said = [visitor_says("", f"question {i}", at=1_000 + i) for i in range(12)]
        await app.webhook(chat_event("chatStarted", "busy", said[:1], name="Busy"))
        await wait_for(lambda: slack.parents(CHANNEL), within=5)
        thread_ts = slack.parents(CHANNEL)[0].ts
        await app.webhook(chat_event("chatFragment", "busy", said, name="Busy"))
        await app.slack_event(reply(thread_ts, "1800000001.000300", "On it!"), event_id())
        await wait_for(lambda: membrane.runs_of("send-agent-message"), within=5)
        shown_then = " ".join(slack.chat(CHANNEL, thread_ts))
        await app.settled(within=30)
    finally:
        await app.close()

    assert "question 11" not in shown_then  # the visitor's messages were still waiting
    assert "question 11" in " ".join(slack.chat(CHANNEL, thread_ts))
    assert slack.rate_limited == 0


async def test_a_database_held_by_another_process_stalls_nothing(
    app, slack, membrane, settings, caplog
):
    await app.webhook(chat_event("chatStarted", "c1", [visitor_says("", "before")], name="Early"))
    await app.settled()
    thread_ts = slack.parents(CHANNEL)[0].ts
    answer = reply(thread_ts, "1800000001.000400", "Here now")
    with another_process_holds(settings, "inbox, seen_requests, schema_version") as dialect:
        words = "locked" if dialect == "sqlite" else "busy"  # the probe waits on the lock
        started = time.monotonic()
        status, health = await app.request("GET", "/healthz")
        took = time.monotonic() - started  # within patience (0.8 s); a stall is 5 s or more
        assert status == 503 and words in health["database"] and took < 3
        status, body = await app.webhook(chat_event("chatFragment", "c1", [visitor_says("", "x")]))
        assert status == 503 and "send it again" in body["error"]
        caplog.clear()
        locked = await app.slack_event(answer, "EvLOCKED01", resend=False)
        assert locked[0] == 503  # Slack sends it again
        assert (await app.slash_command("open"))[0] == 503
        assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
        await asyncio.sleep(1.0)
    x = chat_event("chatFragment", "c1", [visitor_says("", "x")])
    assert (await app.webhook(x))[0] == 200  # Chatra sends it again: stored once, in its place
    status, _ = await app.webhook(chat_event("chatFragment", "c1", [visitor_says("", "after")]))
    assert status == 200
    assert (await app.slack_event(answer, "EvLOCKED01", retry_num=1))[0] == 200
    await app.settled(within=10)
    assert replies_of(slack, "Early") == ["before", "x", "after"]
    assert [run["text"] for run in membrane.runs_of("send-agent-message")] == ["Here now"]


@pytest.mark.sqlite_only  # PostgreSQL's disk is its server's
async def test_a_full_disk_makes_healthz_503_and_intake_ask_for_the_webhook_again(app, monkeypatch):
    monkeypatch.setattr(
        storage.sqlite.shutil, "disk_usage", lambda path: type("U", (), {"free": 2**20})()
    )
    status, health = await app.request("GET", "/healthz")
    assert status == 503 and health["database"] == "the disk is full (1.0 MB free)"

    db = app.app[DATABASE]

    def no_more_room() -> None:  # SQLite's own "database or disk is full", on its writer
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")

    await db.run("no more room", no_more_room, "write")
    big = [visitor_says("", "x" * 200_000)]
    status, body = await app.webhook(chat_event("chatStarted", "c-full", big))
    assert status == 503 and body["ok"] is False


async def counted(inbox: Inbox, state: str, expected: int) -> bool:
    return await inbox.count(state) == expected


async def test_bookkeeping_that_fails_strands_no_event_and_keeps_the_order(store):
    inbox = store.inbox
    for n in range(3):
        await inbox.add("chatra", f"k{n}", "chat", str(n))
    seen: list[str] = []
    refusals = iter([True, True, False] + [False] * 10)
    mark_done = inbox.mark_done

    class FlakyMarkDone:  # the unit, as the worker runs it with its lane's lease
        name = "Inbox.mark_done"

        def now(self, event_id: int) -> None:
            if next(refusals):
                raise DatabaseUnavailable("database or disk is full")
            mark_done.now(event_id)

    inbox.mark_done = FlakyMarkDone()  # type: ignore[method-assign]

    async def handle(event: InboxEvent) -> None:
        seen.append(event.payload)

    worker = worker_over(store, handle)
    task = asyncio.create_task(worker.run())
    try:
        await wait_for(lambda: counted(inbox, "done", 3), within=5)
    finally:
        task.cancel()
    assert seen == ["0", "1", "2"]  # the first was not repeated nor overtaken


async def test_transient_failures_wait_as_long_as_they_last_and_refusals_fail_at_once(store):
    inbox = store.inbox
    await inbox.add("chatra", "k1", "chat-a", "slow")
    await inbox.add("chatra", "k2", "chat-b", "refused")
    tries = {"slow": 0, "refused": 0}

    async def handle(event: InboxEvent) -> None:
        tries[event.payload] += 1
        if event.payload == "slow" and tries["slow"] < 12:  # twice the usual limit of tries
            raise ConnectionError("Slack unreachable")
        if event.payload == "refused":
            raise ValueError("refused for good")

    def judge(error: BaseException) -> bool | None:
        return isinstance(error, ConnectionError)

    worker = worker_over(store, handle, judge=judge, first_pause=0.001)
    task = asyncio.create_task(worker.run())
    try:
        await wait_for(lambda: counted(inbox, "pending", 0), within=5)
    finally:
        task.cancel()
    assert tries == {"slow": 12, "refused": 1}
    assert await inbox.count("done") == 1 and await inbox.count("failed") == 1


async def test_connections_are_capped_per_address_and_idle_ones_closed(
    settings, slack, monkeypatch, caplog
):
    monkeypatch.setattr(bot.running.server, "IDLE_TIMEOUT", 0.5)
    monkeypatch.setattr(bot.running.server, "QUIET_INTERVAL", 0.3)
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    server = asyncio.create_task(serve(create_app(settings), sock, per_address=5, stop=stop))
    try:
        await wait_for(lambda: "ready on" in caplog.text, within=5)
        idle = [
            await asyncio.open_connection("127.0.0.1", port) for _ in range(8)
        ]  # a stranger opens connections and sends nothing

        async def closed_at_once(reader: asyncio.StreamReader) -> bool:
            try:
                async with asyncio.timeout(0.2):
                    return await reader.read() == b""
            except TimeoutError:
                return False

        closed = await asyncio.gather(*(closed_at_once(reader) for reader, _ in idle))
        assert sum(closed) == 3  # over the cap: refused at once
        others = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
        others[1].write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(5):
            assert (await others[0].readline()).startswith(b"HTTP/1.1 200")
        others[1].close()
        async with asyncio.timeout(3):  # the idle ones are closed after IDLE_TIMEOUT
            for reader, _ in [pair for pair, gone in zip(idle, closed, strict=True) if not gone]:
                assert await reader.read() == b""
    finally:
        stop.set()
        await server
    assert "refused a connection from 127.0.0.1: over 5 at once" in caplog.text
    assert "refused 2 more connections from 127.0.0.1 in the last 0.3s" in caplog.text


def test_a_repeated_error_is_logged_once_per_interval_with_a_count():
    quieter = Quieter(interval=0.2)
    record = lambda: logging.LogRecord("asyncio", 40, "", 0, "accept failed", None, None)  # noqa: E731
    passed = [quieter.filter(record()) for _ in range(1000)]
    time.sleep(0.25)
    last = record()
    assert sum(passed) == 1 and quieter.filter(last)
    assert last.msg == "accept failed (999 more like this left out of the log)"


def test_a_database_that_cannot_be_used_or_a_taken_port_stop_start_up_in_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s" * 16,
        SLACK_CHANNEL_ID="C0SUPPORT1",
        MEMBRANE_CONNECTION_ID="conn",
        MEMBRANE_TOKEN="a.b.c",
        CHATRA_WEBHOOK_SECRET="w" * 20,
        DATABASE_PATH=str(blocker / "bridge.db"),
    )
    run = [sys.executable, "-m", "bot", "serve"]
    result = subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"Cannot start: the database {blocker}/bridge.db")
    assert len(result.stderr.strip().splitlines()) == 1

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env |= {"DATABASE_PATH": str(tmp_path / "ok.db"), "HOST": "127.0.0.1", "PORT": str(port)}
        result = subprocess.run(
            run, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"Cannot start: cannot listen on 127.0.0.1:{port}: Address already in use" in (
        result.stderr
    )
    assert "is another chatra-bridge running? Set PORT" in result.stderr

    env |= {"HOST": "192.0.2.1"}  # an address of some other machine (TEST-NET-1)
    result = subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(
        "set HOST to an address of this machine (0.0.0.0: all of them)"
    )
    assert "PORT" not in result.stderr
