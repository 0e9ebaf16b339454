"""Online in Chatra while on duty in Slack: the leader pings CHATRA_ONLINE_ACTION once an
interval for each agent on duty and active in Slack; never for an agent Chatra does not know
(no dummy agent); a failing ping is one warning an hour. On the bridge's own clock."""

import logging

import pytest

import sandbox.membrane
from bot.trying.sandboxed import RunningApp
from sandbox.membrane_wire import ONLINE_ACTION
from tests.helpers import chat_event, checks_run, event_id, reply, visitor_says, wait_for

SAM, KIM, LEE = "U0AGENT01", "U0AGENT02", "U0AGENT03"  # Sam's email is agent Ana's (a9)
FRIDAY_8AM = 1_800_000_000.0  # before business hours: only those on call are on duty


@pytest.fixture
async def app(settings, clock, membrane):
    membrane.make_online_action()
    online = {"chatra_online_action": ONLINE_ACTION, "escalation_check_seconds": 0.05}
    online["business_hours"] = "mon-fri 09:00-18:00"
    running = await RunningApp(settings.model_copy(update=online), clock).start()
    await running.webhook(chat_event("chatStarted", messages=[visitor_says("", "hi")]))
    await running.settled()  # its webhook lists agent Ana: Chatra knows her email
    yield running
    await running.close()


def pings(membrane) -> list[dict]:
    return membrane.runs_of(ONLINE_ACTION)


async def who(app) -> str:
    _, answer = await app.slash_command("who")
    return answer["text"]


async def home_of(app, slack, user: str) -> str:
    slack.home.pop(user, None)
    opened = {"type": "app_home_opened", "user": user, "channel": "D0HOME01", "tab": "home"}
    await app.slack_event(opened, event_id())
    await wait_for(lambda: user in slack.home)
    return str(slack.home[user]["blocks"])


async def test_an_agent_on_call_and_active_in_slack_is_online_every_interval_until_away(
    app, slack, membrane, clock
):
    await app.slash_command(f"oncall <@{SAM}>")
    [first] = await wait_for(lambda: pings(membrane))
    assert first == {"agentId": "a9"} and membrane.online_agents() == ["a9"]
    clock.advance(0.5)
    await checks_run(app)
    assert len(pings(membrane)) == 1  # not before the interval
    clock.advance(0.5)
    await wait_for(lambda: len(pings(membrane)) == 2)
    home = await home_of(app, slack, SAM)
    assert f"Online in Chatra: <@{SAM}> as Ana since <!date^{int(FRIDAY_8AM)}^" in home

    slack.away.add(SAM)  # Sam's Slack shows him away: so does Chatra, within 3 minutes
    clock.advance(1)
    await checks_run(app)
    assert len(pings(membrane)) == 2
    clock.advance(3)
    await checks_run(app)
    assert "Online in Chatra: no one (the widget is offline)" in await home_of(app, slack, SAM)


async def test_who_answered_lately_or_said_online_is_on_duty_in_hours_until_they_say_away(
    app, slack, membrane, clock
):
    clock.now = FRIDAY_8AM + 2 * 3600  # 10:00, in business hours
    await app.slack_event(
        reply(slack.parents("C0SUPPORT1")[0].ts, "1800007200.000100", "Hi"), event_id()
    )
    await wait_for(lambda: pings(membrane))  # Sam answered from Slack: on duty
    assert f"<@{SAM}> as Ana since" in await who(app)

    await app.slash_command("away")
    clock.advance(1)
    await checks_run(app)
    assert len(pings(membrane)) == 1  # away, though he answered 1 minute ago
    await app.slash_command("online")
    clock.advance(1)
    await wait_for(lambda: len(pings(membrane)) == 2)

    clock.now = FRIDAY_8AM + 11 * 3600  # 19:00: after hours, only those on call
    await checks_run(app)
    assert len(pings(membrane)) == 2


async def test_an_agent_chatra_does_not_know_is_never_pinged_and_a_failing_ping_warns_hourly(
    app, slack, membrane, clock, monkeypatch, caplog
):
    by_email = ((), ("agentEmail", "agentName", "receivedFrom"))
    monkeypatch.setitem(sandbox.membrane.INPUTS, ONLINE_ACTION, by_email)
    await app.slash_command(f"agent <@{KIM}> a77")  # an id Chatra's webhooks never listed
    await app.slash_command(f"oncall <@{SAM}> <@{KIM}> <@{LEE}>")  # Lee: an email Chatra lacks
    caplog.set_level(logging.WARNING, "bot.core.people.online")
    for _ in range(3):
        await wait_for(lambda: pings(membrane))
        clock.advance(1)
        await checks_run(app)

    assert pings(membrane)[0] == {
        "agentEmail": "ana@example.com",
        "agentName": "Ana",
        "receivedFrom": "chatra-bridge",
    }
    assert {p["agentEmail"] for p in pings(membrane)} == {"ana@example.com"}
    assert membrane.dummy_agents == []  # no ping ever made up an agent
    warned = [r.getMessage() for r in caplog.records if "not told agent" in r.getMessage()]
    assert len(warned) == 1 and "Chatra was not told agent a77 is online" in warned[0]


async def test_no_online_action_means_no_ping(settings, clock, membrane, slack):
    membrane.make_online_action()
    running = await RunningApp(
        settings.model_copy(update={"escalation_check_seconds": 0.05}), clock
    ).start()
    try:
        await running.slash_command(f"oncall <@{SAM}>")
        await running.slash_command("online")
        await checks_run(running)
        assert pings(membrane) == []
        assert "Online in Chatra: not told (CHATRA_ONLINE_ACTION is not set)" in await who(running)
    finally:
        await running.close()
