"""With SLACK_APP_TOKEN, Slack's events come over Socket Mode; the Chatra webhook stays on HTTP."""

import time

import pytest
from pydantic import SecretStr

from tests.conftest import CHANNEL
from tests.helpers import RunningApp, chat_event, visitor_says, wait_for
from tests.test_slack_to_chatra import reply


@pytest.fixture
async def socket_bridge(settings, slack):
    socket_settings = settings.model_copy(
        update={"slack_app_token": SecretStr(slack.app_token), "slack_signing_secret": None}
    )
    running = await RunningApp(socket_settings).start()
    await wait_for(lambda: slack.sockets, within=10)
    yield running
    await running.close()


async def test_thread_reply_over_socket_mode_reaches_the_visitor(socket_bridge, slack, membrane):
    status, _ = await socket_bridge.webhook(
        chat_event("chatStarted", messages=[visitor_says("m1", "Hi")])
    )
    assert status == 200
    await socket_bridge.settled()
    thread_ts = slack.parents(CHANNEL)[0].ts

    payload = {
        "type": "event_callback",
        "event_id": "EvSOCKET01",
        "event_time": int(time.time()),
        "team_id": "T0000TEAM",
        "event": reply(thread_ts, "1800000040.000001", "Over the socket"),
    }
    envelope_id = await slack.send_envelope("events_api", payload)
    await wait_for(lambda: any(a.get("envelope_id") == envelope_id for a in slack.acks))
    await socket_bridge.settled()

    assert membrane.visible_messages("client-1") == ["Over the socket"]


async def test_no_unsigned_http_route_for_slack_in_socket_mode(socket_bridge):
    status, _ = await socket_bridge.request("POST", "/slack/events", data=b"{}")
    assert status == 404


async def test_slash_commands_over_socket_mode_are_answered_in_the_ack(socket_bridge, slack):
    command = {
        "command": "/chatra",
        "text": "oncall",
        "user_id": "U0AGENT01",
        "channel_id": CHANNEL,
        "team_id": "T0000TEAM",
        "response_url": slack.url + "/response/9",
        "trigger_id": "1.2.9",
    }
    envelope_id = await slack.send_envelope("slash_commands", command)
    await wait_for(lambda: any(a.get("envelope_id") == envelope_id for a in slack.acks))
    [ack] = [a for a in slack.acks if a.get("envelope_id") == envelope_id]
    assert ack["payload"] == {"response_type": "ephemeral", "text": "No one is on call."}
