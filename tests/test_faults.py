"""The faults that broke exactly-once before what goes to Slack became rows, each on both
backends: a table locked across a card's record, a SIGKILL between a post and its record, a
lane taken over while its bridge waits out a failure. Each asserts rows and what Slack shows:
one card per chat, every message once, in order."""

import asyncio
import os
import signal

import aiohttp
import pytest

from bench.harness import CHANNEL as BENCH_CHANNEL
from bench.harness import App, app_env, start_fakes
from sandbox.server import free_port
from tests.conftest import CHANNEL, settings_on
from tests.helpers import (
    RunningApp,
    another_process_holds,
    chat_event,
    event_id,
    reply,
    run_sql,
    start_chat,
    visitor_says,
    wait_for,
)


async def test_a_table_locked_across_a_new_cards_record_shows_each_message_once(bridge, slack):
    await bridge.webhook(chat_event("chatStarted", "charlie", [visitor_says("c1", "charlie one")]))
    await wait_for(lambda: slack.parents(CHANNEL))  # on Slack; its record may wait now
    with another_process_holds(bridge.settings, "threads, messages"):
        await asyncio.sleep(1.5)  # the record waits for the lock; the visitor writes again
        two = [visitor_says("c1", "charlie one"), visitor_says("c2", "charlie two", at=2)]
        status, _ = await bridge.webhook(chat_event("chatFragment", "charlie", two))
    if status != 200:  # 503 while the database was held: Chatra sends it again
        await bridge.webhook(chat_event("chatFragment", "charlie", two))
    await bridge.settled(within=15)

    [card] = slack.parents(CHANNEL)
    assert slack.chat(CHANNEL, card.ts) == ["charlie one", "charlie two"]
    rows = run_sql(bridge.settings, "SELECT text, slack_ts FROM messages ORDER BY id")
    assert rows[0] == ("charlie one", card.ts) and rows[1][0] == "charlie two"
    assert rows[1][1] != card.ts and len(rows) == 2


async def test_a_visitor_is_heard_while_a_unit_of_work_holds_their_chats_lane(bridge, slack):
    """A unit of work stuck on a lock holds its lane's row (its lease renewed, not committed):
    intake stores what the visitor writes meanwhile instead of waiting on that row and refusing
    the webhook once `lock_timeout` runs out; the worker carries it out afterwards."""
    await bridge.webhook(chat_event("chatStarted", "dana", [visitor_says("d1", "dana one")]))
    await bridge.settled()
    stuck = "UPDATE lanes SET expires_at = expires_at"  # a lease renewed, held uncommitted
    with another_process_holds(bridge.settings, changing=stuck) as dialect:
        if dialect == "sqlite":
            pytest.skip("SQLite has one writer for the whole file: the lock test covers it")
        more = [visitor_says("d1", "dana one"), visitor_says("d2", "dana two", at=2)]
        status, _ = await bridge.webhook(chat_event("chatFragment", "dana", more))
        assert status == 200
    await bridge.settled()
    [card] = slack.parents(CHANNEL)
    assert slack.chat(CHANNEL, card.ts) == ["dana one", "dana two"]


async def test_a_sigkill_between_a_post_and_its_record_shows_it_once(database, tmp_path):
    slack, membrane = await start_fakes()
    extra = {"database_url": database} if database.startswith("postgres") else {}
    env = app_env(slack, membrane, free_port(), tmp_path, lane_lease_seconds="2", **extra)
    bridge = App(env, tmp_path / "bridge.log")
    killed: list[int] = []

    def kill_once_posted(posted) -> None:  # on Slack, and the bridge dies before its record
        if not killed and bridge.process is not None:
            killed.append(bridge.process.pid)
            os.kill(bridge.process.pid, signal.SIGKILL)

    async with aiohttp.ClientSession() as http:
        try:
            await bridge.start(http)
            slack.answer_after["chat.postMessage"] = 0.5
            slack.on_post = kill_once_posted
            body = chat_event("chatStarted", messages=[visitor_says("m1", "first")], name="Di")
            async with http.post(bridge.webhook_url, json=body) as answer:
                assert answer.status == 200
            await wait_for(lambda: killed)
            assert bridge.process is not None
            await bridge.process.wait()
            slack.on_post, slack.answer_after = None, {}
            await bridge.start(http)  # it finds the card on Slack: not posted again
            later = [visitor_says("m1", "first"), visitor_says("m2", "second", at=2)]
            body = chat_event("chatFragment", messages=later, name="Di")
            async with http.post(bridge.webhook_url, json=body) as answer:
                assert answer.status == 200
            await wait_for(lambda: len(slack.messages) == 2, within=15)
        finally:
            await bridge.stop()
            await slack.stop()
            await membrane.stop()
    [card] = slack.parents(BENCH_CHANNEL)
    assert slack.chat(BENCH_CHANNEL, card.ts) == ["first", "second"]


async def test_a_lane_taken_over_while_its_bridge_waits_out_a_failure_is_carried_out_once(
    slack, membrane, postgres_database, caplog
):
    settings = settings_on(postgres_database, slack, membrane, lane_lease_seconds=2)
    a = await RunningApp(settings).start()
    b = None
    try:
        card = (await start_chat(a, slack)).ts
        membrane.fail_next("send-agent-message", status=503, times=1000)  # Chatra is down
        [down] = membrane.faults
        await a.slack_event(reply(card, "1800000090.000001", "Hello!"), event_id())
        await wait_for(lambda: down.times < 1000)  # a tried, and waits it out
        # a stops answering its lease (a long stall); b takes the chat's lane over
        run_sql(settings, "UPDATE lanes SET holder = 'a-stalled', expires_at = 0")
        membrane.faults.clear()  # Chatra is back
        b = await RunningApp(settings).start()
        await b.settled(within=20)
        await wait_for(lambda: "taken over" in caplog.text, within=20)  # a's next try stops
    finally:
        await a.close()
        if b is not None:
            await b.close()
    assert membrane.visible_messages("client-1") == ["Hello!"]  # sent by b alone
    assert len(membrane.runs_of("send-agent-message")) == 1
