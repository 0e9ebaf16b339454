"""Bad input gets a clear 4xx, is logged, stores nothing and leaves the app working."""

import json
import time

import pytest

from tests.helpers import chat_event, event_id, reply, run_sql, start_chat, visitor_says


def stored_rows(settings) -> dict[str, int]:
    return {
        t: run_sql(settings, f"SELECT count(*) FROM {t}")[0][0]
        for t in ("inbox", "threads", "messages")
    }


async def still_works(bridge, slack) -> None:
    status, _ = await bridge.webhook(
        chat_event("chatStarted", "client-ok", [visitor_says("ok1", "fine")])
    )
    assert status == 200
    await bridge.settled()
    assert any("fine" in r.text for r in slack.messages)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "not JSON"),
        ('{"eventName": "chatStarted", "client": {"id": "c"}}'.encode("utf-16"), 400, "not JSON"),
        (b"[1, 2]", 422, "eventName"),
        (json.dumps({"eventName": "chatStarted"}).encode(), 422, "client"),
        (json.dumps({"eventName": "chatStarted", "client": {"id": ""}}).encode(), 422, "client.id"),
        (b'{"eventName": "chatStarted", "client": {"id": "c", "n": NaN}}', 400, "NaN"),
        (b'{"eventName": "chatStarted", "client": {"id": "c"}, "x": -Infinity}', 400, "Infinity"),
        (
            b'{"eventName": "chatStarted", "client": {"id": "c"}, "x": '
            + b"[" * 40
            + b"]" * 40
            + b"}",
            400,
            "nested deeper",
        ),
        (b"[" * 100_000 + b"]" * 100_000, 400, "nested deeper"),
    ],
    ids=[
        "not-json",
        "utf-16-json",
        "not-an-object",
        "no-client",
        "empty-client-id",
        "nan",
        "infinity",
        "nested-past-the-limit",
        "nested-past-python",
    ],
)
async def test_malformed_webhook_is_refused_with_a_reason(
    bridge, slack, settings, caplog, body, status, reason
):
    before = stored_rows(settings)
    got_status, answer = await bridge.webhook(body)

    assert got_status == status
    assert reason in answer["error"]
    assert stored_rows(settings) == before
    assert "chatra webhook" in caplog.text
    await still_works(bridge, slack)


async def test_wrong_webhook_secret_is_404_and_stores_nothing(bridge, slack, settings, caplog):
    before = stored_rows(settings)
    status, _ = await bridge.webhook(
        chat_event("chatStarted", messages=[visitor_says("m1", "x")]), secret="guess" * 5
    )

    assert status == 404
    assert stored_rows(settings) == before
    assert "wrong secret" in caplog.text and "guess" not in caplog.text
    await still_works(bridge, slack)


async def test_body_over_one_mebibyte_is_413(bridge, slack, settings, caplog):
    before = stored_rows(settings)
    huge = chat_event("chatStarted", messages=[visitor_says("m1", "x" * (1024 * 1024 + 10))])
    status, _ = await bridge.webhook(huge)

    assert status == 413
    assert stored_rows(settings) == before
    assert "chatra webhook body over 1048576 bytes refused" in caplog.text
    await still_works(bridge, slack)


async def test_slack_body_over_one_mebibyte_is_413(bridge, settings, caplog):
    before = stored_rows(settings)
    status, _ = await bridge.slack_post(
        b'{"x": "' + b"x" * (1024 * 1024) + b'"}', "application/json"
    )

    assert status == 413
    assert stored_rows(settings) == before
    assert "over 1048576 bytes refused" in caplog.text


async def test_unknown_chatra_event_is_accepted_and_ignored(bridge, slack, settings, caplog):
    before = stored_rows(settings)
    status, answer = await bridge.webhook(
        chat_event("chatRated", messages=[visitor_says("m1", "x")])
    )

    assert status == 200 and answer["ignored"] == "unknown event"
    assert stored_rows(settings) == before
    assert slack.messages == []
    assert "chatRated" in caplog.text


async def test_bad_slack_signature_is_401_and_nothing_is_sent(bridge, membrane, slack, settings):
    thread_ts = (await start_chat(bridge, slack)).ts
    before = stored_rows(settings)

    status, _ = await bridge.slack_event(
        reply(thread_ts, "1800000020.000001", "x"), event_id(), secret="wrong"
    )
    assert status == 401
    stale = int(time.time()) - 6 * 60
    status, _ = await bridge.slack_event(
        reply(thread_ts, "1800000020.000002", "x"), event_id(), timestamp=stale
    )
    assert status == 401

    await bridge.settled()
    assert stored_rows(settings) == before
    assert membrane.runs == []


async def test_signed_but_malformed_slack_body_is_refused(bridge, membrane, settings):
    before = stored_rows(settings)
    status, _ = await bridge.slack_post(b"{not json", "application/json")

    assert 400 <= status < 500
    assert stored_rows(settings) == before


async def test_slash_command_answers_with_help(bridge):
    status, answer = await bridge.slash_command("")
    assert status == 200
    assert answer["response_type"] == "ephemeral" and "/chatra help" in answer["text"]

    status, answer = await bridge.slash_command("frobnicate")
    assert "Unknown subcommand `frobnicate`" in answer["text"]


async def test_a_stranger_cannot_fill_or_forge_the_log_nor_break_the_signature_check(
    bridge, settings, caplog
):
    forged = b"x\nINFO bot.core.replies.sending: reply 1.2 sent to chat FORGED\n" * 4000
    for _ in range(3):
        status, _ = await bridge.slack_post(forged, "application/json", secret="not-the-secret")
        assert status == 401
    for headers in (
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=abc"},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=é"},
        {},
    ):
        status, _ = await bridge.request(
            "POST", "/slack/events", data=b"{}", headers={**headers, "Content-Type": "text/plain"}
        )
        assert status == 401  # malformed signature headers: refused, never a 500

    refusals = [r for r in caplog.records if "badly signed slack request refused" in r.getMessage()]
    assert len(refusals) == 6
    assert all(len(r.getMessage()) < 120 for r in refusals)  # size and source, not the body
    assert "FORGED" not in caplog.text


async def test_a_body_that_says_gzip_and_is_not_gets_a_400_at_both_endpoints(
    bridge, slack, settings, caplog
):
    secret = settings.chatra_webhook_secret.get_secret_value()
    body = json.dumps(chat_event("chatStarted", messages=[visitor_says("m1", "hi")])).encode()
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    for path in (f"/chatra/webhook/{secret}", "/slack/events"):
        status, answer = await bridge.request("POST", path, data=body, headers=headers)
        assert status == 400 and "cannot be read" in answer["error"], path
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert stored_rows(settings)["inbox"] == 0
    await still_works(bridge, slack)
