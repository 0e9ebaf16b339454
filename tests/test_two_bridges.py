"""Two bridges on one PostgreSQL database, both active, behind a load balancer: what reaches
either is carried out once and in order, they share Slack's pace, one of them leads, and either
can go away."""

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from bench.harness import CHANNEL as BENCH_CHANNEL
from bench.harness import App, app_env, start_fakes
from handlers.app_keys import CORE, LEADERSHIP
from sandbox import postgres
from sandbox.server import free_port
from tests.conftest import CHANNEL
from tests.helpers import (
    RunningApp,
    all_settled,
    chat_event,
    event_id,
    leader_then_other,
    reply,
    run_sql,
    share_files,
    visitor_says,
    wait_for,
)


@pytest.fixture
async def two(settings_on_postgres) -> AsyncIterator[tuple[RunningApp, RunningApp]]:
    a = await RunningApp(settings_on_postgres).start()
    b = await RunningApp(settings_on_postgres).start()
    yield a, b
    await a.close()
    await b.close()


async def test_the_same_webhook_reaching_both_bridges_is_stored_and_posted_once(two, slack):
    a, b = two
    body = json.dumps(chat_event("chatStarted", messages=[visitor_says("m1", "Hello?")])).encode()
    answers = await asyncio.gather(a.webhook(body), b.webhook(body), a.webhook(body))
    assert sorted(answer["duplicate"] for _, answer in answers) == [False, True, True]
    await all_settled(a, b)
    [card] = slack.parents(CHANNEL)
    assert slack.chat(CHANNEL, card.ts) == ["Hello?"]


async def test_a_chat_coming_through_either_bridge_is_carried_out_once_and_in_order(
    two, slack, membrane
):
    a, b = two
    said = [visitor_says(f"m{n}", f"line {n}", at=1_732_450_000_000 + n) for n in range(8)]
    await a.webhook(chat_event("chatStarted", messages=said[:1]))
    await all_settled(a, b)
    thread_ts = slack.parents(CHANNEL)[0].ts
    for n in range(1, 8):  # the balancer sends each to one or the other
        await (a, b)[n % 2].webhook(chat_event("chatFragment", messages=said[n - 1 : n + 1]))
        answer = reply(thread_ts, f"1800000100.{n:06d}", f"answer {n}")
        await (b, a)[n % 2].slack_event(answer, event_id())
    await all_settled(a, b)

    shown = slack.chat(CHANNEL, thread_ts)
    assert [t for t in shown if t.startswith("line")] == [f"line {n}" for n in range(8)]
    assert membrane.visible_messages("client-1") == [f"answer {n}" for n in range(1, 8)]


async def test_two_bridges_keep_to_one_budget_of_posts_and_earn_no_429(two, slack):
    a, b = two
    slack.post_limit = (5, 1.0)  # what Slack allows a channel: 5 at once, then 1 a second
    for n in range(8):
        messages = [visitor_says(f"m{n}", f"hello from {n}")]
        await (a, b)[n % 2].webhook(chat_event("chatStarted", f"client-{n}", messages))
    await all_settled(a, b)
    assert len(slack.parents(CHANNEL)) == 8
    shown = [said for card in slack.parents(CHANNEL) for said in slack.chat(CHANNEL, card.ts)]
    assert sorted(shown) == sorted(f"hello from {n}" for n in range(8))  # one post a chat
    assert slack.rate_limited == 0


async def test_a_file_shared_through_one_bridge_is_served_by_the_other(two, slack, membrane):
    a, b = two
    await a.webhook(chat_event("chatStarted", messages=[visitor_says("", "Hi")]))
    await all_settled(a, b)
    thread_ts = slack.parents(CHANNEL)[0].ts
    file = slack.share_file("F7", "label.txt", b"return label", "text/plain")
    await share_files(a, thread_ts, "1800000061.000001", [file])
    [sent] = membrane.visible_messages("client-1")
    path = sent.split("(https://bridge.test", 1)[1].rstrip(")")
    assert await b.request("GET", path) == (200, "return label")


async def test_when_the_leader_stops_the_other_bridge_escalates_once(
    settings_on_postgres, slack, clock
):
    leader, other = await leader_then_other(settings_on_postgres, clock)
    try:
        await asyncio.sleep(0.3)
        assert not other.app[LEADERSHIP].leading  # one leads: the first
        await leader.slash_command("oncall <@U0AGENT01>")
        await leader.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hello?")]))
        await all_settled(leader, other)
        await leader.close()  # gone: a deploy, a crash

        await wait_for(lambda: other.app[LEADERSHIP].leading, within=3)
        clock.advance(11)
        broadcast = await wait_for(
            lambda: [m for m in slack.messages if m.args.get("reply_broadcast")], within=5
        )
        await asyncio.sleep(0.3)
        assert len(broadcast) == 1 and len(slack.dms_to("U0AGENT01")) == 1
    finally:
        await other.close()


async def test_the_leader_killed_with_sigkill_is_replaced_and_escalation_still_fires(
    postgres_database, tmp_path
):
    slack, membrane = await start_fakes()
    shared_db = {
        "database_url": postgres_database,
        "lane_lease_seconds": "3",
        "leader_check_seconds": "0.5",
        "escalation_check_seconds": "0.5",
        "nudge_after_minutes": "0.05",  # 3 s
        "escalate_after_minutes": "0.1",  # 6 s
    }
    bridges = [
        App(app_env(slack, membrane, free_port(), tmp_path, **shared_db), tmp_path / f"{n}.log")
        for n in range(2)
    ]
    async with aiohttp.ClientSession() as http:
        try:
            first, second = bridges
            await first.start(http)
            await wait_for_json(http, first.url + "/healthz", lambda h: h["leader"])
            await second.start(http)
            body = chat_event("chatStarted", messages=[visitor_says("m1", "anyone?")], name="Ann")
            async with http.post(first.webhook_url, json=body) as answer:
                assert answer.status == 200
            await first.kill()  # SIGKILL: no goodbye, its lock and leases left behind

            await wait_for_json(http, second.url + "/healthz", lambda h: h["leader"], within=10)
            broadcasts = await wait_for(
                lambda: [m for m in slack.messages if m.args.get("reply_broadcast")], within=30
            )
            assert "Ann" in broadcasts[0].text and "has waited" in broadcasts[0].text
            [card] = slack.parents(BENCH_CHANNEL)
            assert card.joined == ["anyone?"]  # the card opens with it
        finally:
            for bridge in bridges:
                await bridge.stop()
            await slack.stop()
            await membrane.stop()


async def wait_for_json(http, url: str, condition, within: float = 5.0) -> dict:
    async def check() -> dict | None:
        async with http.get(url) as response:
            found = await response.json()
        return found if condition(found) else None

    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not become what was waited for")


async def test_a_bridge_hears_of_an_event_the_other_stored_by_its_id(two, slack):
    a, b = two
    told: list[int | None] = []
    arrivals = a.app[CORE].runtime.arrivals
    stored = arrivals.stored
    arrivals.stored = lambda event_id: (told.append(event_id), stored(event_id))[1]
    await b.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "Hi")]))
    [event] = run_sql(a.settings, "SELECT id FROM inbox")
    await wait_for(lambda: event[0] in told)  # NOTIFY, not a poll: no rescan is due for 30 s
    await all_settled(a, b)
    assert len(slack.parents(CHANNEL)) == 1


async def test_slack_down_for_both_bridges_is_one_outage_told_once_when_back(two, slack):
    a, b = two
    fast = a.settings.escalation_check_seconds
    assert fast <= 0.1  # the leader reports within the test
    slack.fail_next("*", status=500, error="internal_error", times=10_000)
    for n in range(4):
        said = [visitor_says("", f"{n}.0")]
        await (a, b)[n % 2].webhook(chat_event("chatStarted", f"c{n}", said, name=f"Chat {n}"))
    await wait_for(lambda: slack.calls_to("chat.postMessage"))

    async def degraded(bridge) -> bool:
        _, health = await bridge.request("GET", "/healthz")
        return health["status"] == "degraded" and health["down"]["slack"]["reason"] == "HTTP 500"

    for bridge in (a, b):  # one that has not called Slack meanwhile reads it within 5 s
        await wait_for(lambda bridge=bridge: degraded(bridge), within=8)

    slack.faults.clear()  # Slack is back
    await all_settled(a, b)
    back = await wait_for(lambda: [m.text for m in slack.parents(CHANNEL) if "is back" in m.text])
    await asyncio.sleep(1)  # the other bridge, too, had its turn to tell
    assert len([m for m in slack.parents(CHANNEL) if "is back" in m.text]) == 1
    assert "4 messages waited for it" in back[0]


async def test_postgresql_crashing_and_coming_back_loses_and_doubles_nothing(
    slack, membrane, settings_on_postgres
):
    async def accepted(send, *args) -> None:
        """As Chatra and Slack do: send again until the bridge says it has it."""
        for _ in range(300):
            if (await send(*args))[0] == 200:
                return
            await asyncio.sleep(0.2)
        raise TimeoutError("never accepted")

    with postgres.running_server(fast=True) as server, postgres.fresh_database(server) as url:
        on_its_own = settings_on_postgres.model_copy(update={"database_url": SecretStr(url)})
        a = await RunningApp(on_its_own).start()
        b = await RunningApp(on_its_own).start()
        try:
            said = [visitor_says(f"m{n}", f"line {n}", at=1_732_450_000_000 + n) for n in range(4)]
            await a.webhook(chat_event("chatStarted", messages=said[:1]))
            await all_settled(a, b)
            thread_ts = slack.parents(CHANNEL)[0].ts

            postgres.crash(server)
            status, health = await b.request("GET", "/healthz")
            assert status == 503 and health["ok"] is False
            answer = reply(thread_ts, "1800000200.000001", "Hi!")
            sending = [
                asyncio.create_task(
                    accepted(b.webhook, chat_event("chatFragment", messages=said[:2]))
                ),
                asyncio.create_task(
                    accepted(a.webhook, chat_event("chatFragment", messages=said[1:3]))
                ),
                asyncio.create_task(accepted(a.slack_event, answer, event_id())),
            ]
            await asyncio.sleep(2)  # down a while: every try answered 503
            assert not any(task.done() for task in sending)
            postgres.restart(server, fast=True)
            await asyncio.wait_for(asyncio.gather(*sending), 30)
            await accepted(b.webhook, chat_event("chatFragment", messages=said[2:]))
            await all_settled(a, b)
        finally:
            await a.close()
            await b.close()
    shown = slack.chat(CHANNEL, thread_ts)
    assert shown == [f"line {n}" for n in range(4)]
    assert membrane.visible_messages("client-1") == ["Hi!"]
