"""Slack as it really answers (../shared/reference/slack.md, "traps"): DMs at their own D… ids,
files that come without a URL, calls that never return, setups that point at the wrong place."""

import asyncio

import pytest
from pydantic import SecretStr

import bot.operating.check
from bot.operating.check import run_checks
from sandbox.chatra import chat_event, visitor_says
from tests.conftest import CHANNEL, FakeClock
from tests.helpers import RunningApp, event_id, reply, run_sql, wait_for


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_escalation_dms_land_at_their_d_ids_and_one_failure_stops_no_one(
    settings, slack, clock
):
    fast = settings.model_copy(update={"escalation_check_seconds": 0.05})
    app = await RunningApp(fast, clock).start()
    try:
        # U0GONE01 left the workspace: Slack refuses a DM to them for good.
        await app.slash_command("oncall <@U0GONE01> <@U0AGENT01> <@U0AGENT02>")
        for n in (1, 2):
            hello = [visitor_says("", f"hello {n}")]
            await app.webhook(chat_event("chatStarted", f"client-{n}", hello, name=f"Chat {n}"))
        await app.settled()
        slack.fail_next("chat.postMessage", status=500, error="internal_error")  # Slack hiccups
        clock.advance(11)
        await wait_for(
            lambda: (
                [len(slack.dms_to(u)) for u in ("U0AGENT01", "U0AGENT02")] == [2, 2]
                and len([m for m in slack.messages if m.args.get("reply_broadcast")]) == 2
                and len([m for m in slack.messages if ":hourglass:" in m.text]) == 2
            ),
            within=8,  # posts to the channel are paced at 1/s
        )
        await asyncio.sleep(0.3)  # more rounds: nothing more is sent
    finally:
        await app.close()

    broadcasts = [m for m in slack.messages if m.args.get("reply_broadcast")]
    assert sorted(m.text.split(" has waited")[0][-6:] for m in broadcasts) == ["Chat 1", "Chat 2"]
    assert [len(slack.dms_to(u)) for u in ("U0AGENT01", "U0AGENT02")] == [2, 2]
    assert all(m.channel.startswith("D") for u in slack.dms for m in slack.dms_to(u))
    # the link opens the thread in the workspace (auth.test's url), not slack.com's sign-in
    assert all(
        "<https://fake.slack.com/archives/C0SUPPORT1/p" in m.text for m in slack.dms_to("U0AGENT01")
    )
    read_back = [a["channel"] for a in slack.calls_to("conversations.history")]
    assert not [channel for channel in read_back if channel.startswith(("U", "D"))]
    dm_posts = run_sql(fast, "SELECT channel FROM slack_posts WHERE key LIKE 'dm:%'")
    assert {channel for (channel,) in dm_posts if channel} >= set(slack.dms.values())


async def test_a_file_slack_sends_without_its_url_is_read_through_files_info(
    settings, slack, membrane
):
    app = await RunningApp(settings.model_copy(update={"public_url": "https://b.test"})).start()
    try:
        await app.webhook(chat_event("chatStarted", messages=[visitor_says("", "Hi")]))
        await app.settled()
        thread_ts = slack.parents(CHANNEL)[0].ts
        shared = slack.share_file("F9", "invoice.pdf", b"%PDF", "application/pdf", check_info=True)
        assert "url_private" not in shared
        event = reply(thread_ts, "1800000010.000020", "Here:", subtype="file_share")
        await app.slack_event({**event, "files": [shared]}, event_id())
        await app.settled()
    finally:
        await app.close()

    [sent] = membrane.visible_messages("client-1")
    assert sent.startswith("Here:\n📎 invoice.pdf (https://b.test/files/")
    assert slack.calls_to("files.info")[0]["file"] == "F9"


async def test_a_stalled_slack_call_holds_up_one_chat_for_at_most_the_timeout(settings, slack):
    app = await RunningApp(settings.model_copy(update={"slack_timeout": 0.5})).start()
    try:
        slack.fail_next("chat.postMessage", hang=3)  # far longer than the timeout
        await app.webhook(chat_event("chatStarted", "stalled", [visitor_says("", "one")]))
        await wait_for(lambda: slack.calls_to("chat.postMessage"))
        started = asyncio.get_running_loop().time()
        await app.webhook(chat_event("chatStarted", "other", [visitor_says("", "two")]))
        await wait_for(lambda: any(m.joined == ["two"] for m in slack.messages), within=3)
        other_took = asyncio.get_running_loop().time() - started
        await wait_for(lambda: any(m.joined == ["one"] for m in slack.messages), within=5)
    finally:
        await app.close()

    assert other_took < 1.0
    assert len(slack.parents(CHANNEL)) == 2  # the stalled card was posted once, after all


async def test_check_tells_unreachable_foreign_and_wrong_settings_apart(
    settings, slack, membrane, monkeypatch
):
    closed = "http://127.0.0.1:9/api/"  # nothing listens on the discard port
    wrong = {
        "slack_api_url": closed,
        "membrane_api_url": slack.url,  # a web server, but no Membrane
        "slack_app_token": SecretStr("xapp-1-not-the-app-token"),
    }
    found = {f.check: (f.ok, f.detail) for f in await run_checks(settings.model_copy(update=wrong))}
    assert found["Slack token"] == (
        False,
        "cannot reach Slack at http://127.0.0.1:9/api/ (ClientConnectorError): check the network"
        " and SLACK_API_URL",
    )
    ok, why = found["Membrane connection"]
    assert not ok and why.startswith(f"no Membrane API at {slack.url} (HTTP 404)")

    foreign = {"slack_api_url": membrane.url + "/api/"}
    found = {
        f.check: (f.ok, f.detail) for f in await run_checks(settings.model_copy(update=foreign))
    }
    ok, why = found["Slack token"]
    assert not ok and why.startswith(f"no Slack Web API at {membrane.url}/api/ (HTTP 404)")

    found = {
        f.check: (f.ok, f.detail)
        for f in await run_checks(
            settings.model_copy(update={"slack_app_token": SecretStr("xapp-1-wrong")})
        )
    }
    ok, why = found["Slack app token"]
    assert not ok and why.startswith("Slack refused SLACK_APP_TOKEN (invalid_auth)")
    right = settings.model_copy(update={"slack_app_token": SecretStr(slack.app_token)})
    assert {f.check: f.ok for f in await run_checks(right)}["Slack app token"]

    monkeypatch.setattr(bot.operating.check, "CHECK_TIMEOUT", 0.3)
    slack.fail_next("auth.test", hang=1)
    found = {f.check: (f.ok, f.detail) for f in await run_checks(settings)}
    assert found["Slack token"][1].startswith(f"cannot reach Slack at {slack.api_url} (no answer)")
