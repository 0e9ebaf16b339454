"""With SLACK_APP_TOKEN, Slack's events come over Socket Mode; the Chatra webhook stays on HTTP."""

import time

import pytest
from pydantic import SecretStr

from tests.conftest import CHANNEL
from tests.helpers import RunningApp, chat_event, reply, visitor_says, wait_for


@pytest.fixture
async def socket_bridge(settings, slack):
    socket_settings = settings.model_copy(
        update={"slack_app_token": SecretStr(slack.app_token), "slack_signing_secret": None}
    )
    running = await RunningApp(socket_settings).start()
    await wait_for(lambda: slack.socket_mode.sockets, within=10)
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
    envelope_id = await slack.socket_mode.send_envelope("events_api", payload)
    await wait_for(lambda: any(a.get("envelope_id") == envelope_id for a in slack.socket_mode.acks))
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
    envelope_id = await slack.socket_mode.send_envelope("slash_commands", command)
    await wait_for(lambda: any(a.get("envelope_id") == envelope_id for a in slack.socket_mode.acks))
    [ack] = [a for a in slack.socket_mode.acks if a.get("envelope_id") == envelope_id]
    assert ack["payload"] == {"response_type": "ephemeral", "text": "No one is on call."}


async def test_a_slack_that_cannot_be_reached_is_waited_out_and_the_bridge_is_ready_meanwhile(
    settings, slack, membrane, caplog
):
    slack.fail_next("apps.connections.open", times=2, status=503, error="service_unavailable")
    socket_settings = settings.model_copy(
        update={"slack_app_token": SecretStr(slack.app_token), "slack_signing_secret": None}
    )
    app = await RunningApp(socket_settings).start()  # ready before the websocket is
    try:
        status, body = await app.request("GET", "/healthz")
        assert status == 200 and body["status"] == "degraded"
        assert body["down"]["slack_socket_mode"]["reason"] == "Slack answered service_unavailable"
        status, _ = await app.webhook(
            chat_event("chatStarted", messages=[visitor_says("m1", "Hi")])
        )
        assert status == 200  # webhooks are stored meanwhile

        await wait_for(lambda: slack.socket_mode.sockets, within=10)  # after 1 s, then 2 s
        await wait_for(lambda: "Socket Mode again" in caplog.text, within=10)
        status, body = await app.request("GET", "/healthz")
        assert body["status"] == "ok" and body["down"] == {}
    finally:
        await app.close()
    waits = [r for r in caplog.records if "Socket Mode wait" in r.getMessage()]
    assert len(waits) == 1 and waits[0].exc_info is None  # one line, no traceback
    assert not [r for r in caplog.records if r.exc_info]
