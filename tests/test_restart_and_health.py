"""State lives in SQLite: a restart (same database) keeps every mapping and pending event."""

import sqlite3

from bot.app import DATABASE
from tests.conftest import CHANNEL
from tests.helpers import chat_event, visitor_says, wait_for
from tests.test_slack_to_chatra import edit, event_id, reply


async def test_restart_keeps_threads_and_message_ids(bridge, slack, membrane):
    await bridge.webhook(
        chat_event("chatStarted", messages=[visitor_says("m1", "Hi")], name="Jane")
    )
    await bridge.settled()
    thread_ts = slack.parents(CHANNEL)[0].ts
    await bridge.slack_event(reply(thread_ts, "1800000030.000001", "Hello Jane"), event_id())
    await bridge.settled()

    await bridge.restart()

    [sent] = membrane.messages.values()
    echo = {
        "id": sent["id"],
        "type": "agent",
        "message": "Hello Jane",
        "createdAt": sent["createdAt"],
    }
    fragment = [
        visitor_says("m1", "Hi"),
        echo,
        visitor_says("m2", "Thanks", at=sent["createdAt"] + 1),
    ]
    await bridge.webhook(chat_event("chatFragment", messages=fragment, name="Jane"))
    await bridge.slack_event(
        edit(thread_ts, "1800000030.000001", "Hello Jane", "Hello Jane!"), event_id()
    )
    await bridge.settled()

    assert len(slack.parents(CHANNEL)) == 1
    texts = [r.text for r in slack.replies(CHANNEL, thread_ts)]
    assert len(texts) == 2 and "Hi" in texts[0] and "Thanks" in texts[1]
    assert membrane.runs_of("edit-agent-message") == [
        {"messageId": sent["id"], "text": "Hello Jane!"}
    ]


async def test_event_accepted_before_a_stop_is_delivered_after_restart(bridge, slack, settings):
    slack.fail_next("chat.postMessage", status=500, error="internal_error", times=1000)
    status, _ = await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "Hi")]))
    assert status == 200

    def attempts() -> int:
        with sqlite3.connect(settings.database_path) as db:
            return db.execute("SELECT max(attempts) FROM inbox").fetchone()[0]

    await wait_for(lambda: attempts() >= 1, within=15)
    await bridge.stop()  # Slack was down the whole time this process ran
    slack.faults.clear()
    await bridge.start()
    await bridge.settled(within=10)

    [card] = slack.parents(CHANNEL)
    assert ["Hi" in r.text for r in slack.replies(CHANNEL, card.ts)] == [True]


async def test_healthz_reports_database_and_version(bridge):
    status, body = await bridge.request("GET", "/healthz")
    assert status == 200
    assert body["ok"] is True and body["database"] == "ok" and body["version"]
    assert body["pending_events"] == 0


async def test_healthz_is_503_when_the_database_is_unreachable(bridge):
    bridge.app[DATABASE].conn.close()
    status, body = await bridge.request("GET", "/healthz")
    assert status == 503 and body["database"] == "unreachable"
