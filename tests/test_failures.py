"""Failure is visible: transient errors are retried, permanent ones warn in the thread."""

import json

import aiohttp
import pytest

from bot.core.engine.lanes import lane
from handlers.app_keys import CORE, DATABASE
from storage import DatabaseUnavailable
from tests.conftest import CHANNEL, CONNECTION
from tests.helpers import (
    RunningApp,
    chat_event,
    deletion,
    edit,
    event_id,
    reply,
    start_chat,
    visitor_says,
    wait_for,
)


async def refused_reply(bridge, slack, membrane, thread_ts: str, ts: str) -> str:
    """Sam's reply "Refund sent", which Chatra refuses: it shows failed. Its ts."""
    slack.person_wrote(CHANNEL, ts, thread_ts, "Refund sent", user="U0AGENT01")
    membrane.fail_next("send-agent-message", status=400, type="bad_request", message="try later")
    await bridge.slack_event(reply(thread_ts, ts, "Refund sent"), event_id())
    await bridge.settled()
    assert slack.reactions_on(CHANNEL, ts) == {"warning"}
    return ts


def warnings(slack, thread_ts: str) -> list[str]:
    return [r.text for r in slack.replies(CHANNEL, thread_ts) if ":warning:" in r.text]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503, "type": "internal"},
        {"status": 429, "type": "concurrency"},
        {"status": 502, "type": "dependency_error"},
        {"reset": True},
        {"hang": 1.5},  # longer than MEMBRANE_TIMEOUT (1 s): a timeout
    ],
    ids=["5xx", "429", "chatra-5xx", "connection-reset", "timeout"],
)
async def test_transient_membrane_failure_is_delivered_after_retry(
    bridge, slack, membrane, thread_ts, fault
):
    membrane.fail_next("send-agent-message", **fault)
    await bridge.slack_event(reply(thread_ts, "1800000010.000001", "Still there?"), event_id())
    await bridge.settled(within=10)

    assert membrane.visible_messages("client-1") == ["Still there?"]
    assert warnings(slack, thread_ts) == []


async def test_a_send_that_timed_out_after_chatra_acted_is_not_sent_again(
    bridge, slack, membrane, settings, thread_ts
):
    """The answer is lost (timeout) but the message reached Chatra: its echo settles the doubt."""
    membrane.latency = 1.5  # longer than MEMBRANE_TIMEOUT (1 s), after the action ran
    membrane.echo_to = (
        f"{bridge.url}/chatra/webhook/{settings.chatra_webhook_secret.get_secret_value()}"
    )
    await bridge.slack_event(reply(thread_ts, "1800000010.000007", "Arrived once"), event_id())
    await bridge.settled(within=10)
    membrane.latency = 0

    assert [run["text"] for run in membrane.runs_of("send-agent-message")] == ["Arrived once"]
    assert warnings(slack, thread_ts) == []
    assert not any("Arrived once" in r.text for r in slack.replies(CHANNEL, thread_ts))


async def test_disconnected_chatra_holds_replies_says_so_once_and_sends_them_when_back(
    bridge, slack, membrane
):
    for client_id, name in (("client-a", "A"), ("client-b", "B")):
        messages = [visitor_says(f"{client_id}-1", "Hi")]
        await bridge.webhook(chat_event("chatStarted", client_id, messages, name=name))
    await bridge.settled()
    cards = {card.text.split(":")[0]: card.ts for card in slack.parents(CHANNEL)}
    ts_a, ts_b = cards["A"], cards["B"]  # chats side by side: their cards in either order

    membrane.fail_next("send-agent-message", status=400, type="connection", times=1000)
    for n, thread in enumerate([ts_a, ts_a, ts_b]):
        await bridge.slack_event(reply(thread, f"1800000011.00000{n}", f"held {n}"), event_id())
    await bridge.settled()
    notices = [m.text for m in slack.parents(CHANNEL) if ":electric_plug:" in m.text]
    assert notices == [
        f":electric_plug: Chatra is disconnected in Membrane (connection {CONNECTION}):"
        " reconnect it. Replies to visitors are held and will be sent, in order, as soon as it is"
        " back."
    ]
    assert warnings(slack, ts_a) == warnings(slack, ts_b) == []
    assert membrane.messages == {}

    await bridge.slack_event(
        edit(ts_a, "1800000011.000001", "held 1", "held 1, edited"), event_id()
    )
    await bridge.slack_event(reply(ts_b, "1800000011.000003", "held 3"), event_id())
    await bridge.slack_event(deletion(ts_b, "1800000011.000003", "held 3"), event_id())
    await bridge.settled()
    membrane.faults.clear()  # someone reconnected Chatra in Membrane
    await wait_for(lambda: len(membrane.messages) == 3, within=10)
    await bridge.settled()

    assert membrane.visible_messages("client-a") == ["held 0", "held 1, edited"]
    assert membrane.visible_messages("client-b") == ["held 2"]
    assert [m.text for m in slack.parents(CHANNEL) if "reachable again" in m.text] == [
        ":white_check_mark: Chatra is reachable again: sending the held replies."
    ]
    assert len([m for m in slack.parents(CHANNEL) if ":electric_plug:" in m.text]) == 1


async def test_rejected_input_names_the_reason(bridge, slack, membrane, thread_ts):
    membrane.fail_next(
        "send-agent-message", status=400, type="bad_request", message="text too long"
    )
    await bridge.slack_event(reply(thread_ts, "1800000010.000003", "x"), event_id())
    await bridge.settled()

    [warning] = warnings(slack, thread_ts)
    assert "did not reach the visitor" in warning and "text too long" in warning


async def test_a_reply_in_doubt_is_sent_again_at_most_once_and_the_thread_says_so(
    bridge, slack, membrane, thread_ts
):
    membrane.latency = 1.5  # Chatra acts, but answers after MEMBRANE_TIMEOUT (1 s); no echo
    await bridge.slack_event(reply(thread_ts, "1800000010.000004", "Hello again"), event_id())
    await bridge.settled(within=15)
    membrane.latency = 0

    assert membrane.visible_messages("client-1") == ["Hello again", "Hello again"]  # not 4
    [warning] = warnings(slack, thread_ts)
    assert "“Hello again”" in warning and "may have it twice" in warning
    assert "Try again" in str([r.blocks for r in slack.replies(CHANNEL, thread_ts)])


async def test_a_reply_sent_again_after_a_doubt_says_it_may_show_twice(
    bridge, slack, membrane, thread_ts
):
    membrane.fail_next("send-agent-message", status=500, type="internal")  # it may have run
    await bridge.slack_event(reply(thread_ts, "1800000010.000012", "Once more"), event_id())
    await bridge.settled(within=10)

    assert membrane.visible_messages("client-1") == ["Once more"]
    [notice] = [r.text for r in slack.replies(CHANNEL, thread_ts) if "twice" in r.text]
    assert "Chatra did not confirm “Once more”, so it was sent again" in notice


async def test_a_reply_chatra_took_while_the_database_refused_its_record_is_sent_once(
    bridge, slack, membrane, thread_ts
):
    """The database is away just after Chatra took the reply: recording it waits, and the
    reply is not found in doubt and sent again."""
    db, refusals = bridge.app[DATABASE], []
    run = db.run

    async def refusing_twice(name, work, kind="read", **more):
        if name == "SlackToChatra.sent" and len(refusals) < 2:
            refusals.append(name)
            raise DatabaseUnavailable("the server restarts")
        return await run(name, work, kind, **more)

    db.run = refusing_twice
    ts = "1800000010.000013"
    slack.person_wrote(CHANNEL, ts, thread_ts, "Just once", user="U0AGENT01")
    await bridge.slack_event(reply(thread_ts, ts, "Just once"), event_id())
    await bridge.settled(within=10)

    assert len(refusals) == 2
    assert membrane.visible_messages("client-1") == ["Just once"]
    assert not [r.text for r in slack.replies(CHANNEL, thread_ts) if "twice" in r.text]
    assert slack.reactions_on(CHANNEL, ts) == {"white_check_mark"}


async def test_failed_edit_and_delete_are_reported(bridge, slack, membrane, thread_ts):
    ts = "1800000010.000005"
    await bridge.slack_event(reply(thread_ts, ts, "first"), event_id())
    await bridge.settled()
    membrane.fail_next(
        "edit-agent-message", status=404, type="dependency_error", message="message not found"
    )
    await bridge.slack_event(edit(thread_ts, ts, "first", "second"), event_id())
    await bridge.settled()
    membrane.fail_next("delete-agent-message", status=400, type="connection")
    await bridge.slack_event(deletion(thread_ts, ts, "second"), event_id())
    await bridge.settled()

    edit_warning, delete_warning = warnings(slack, thread_ts)
    assert "Your edit" in edit_warning and "message not found" in edit_warning
    assert "Deleting your message" in delete_warning and "reconnect it" in delete_warning
    assert membrane.visible_messages("client-1") == ["first"]


async def test_wrong_membrane_token_is_reported_in_words(bridge, slack, membrane, thread_ts):
    membrane.tokens = {"a.different.token"}
    await bridge.slack_event(reply(thread_ts, "1800000010.000006", "hi"), event_id())
    await bridge.settled()

    [warning] = warnings(slack, thread_ts)
    assert "Membrane refused our credentials" in warning


async def test_a_shared_file_is_not_dropped_silently(bridge, slack, membrane, thread_ts):
    files = [
        {
            "id": "F1",
            "name": "label.pdf",
            "mimetype": "application/pdf",
            "url_private": "https://files.slack.com/files-pri/T1-F1/label.pdf",
        }
    ]
    event = reply(
        thread_ts, "1800000010.000010", "Here is your label", subtype="file_share", files=files
    )
    await bridge.slack_event(event, event_id())
    await bridge.settled()

    assert membrane.visible_messages("client-1") == ["Here is your label"]
    [warning] = warnings(slack, thread_ts)
    assert "Files did not reach the visitor: “label.pdf”" in warning
    assert "PUBLIC_URL is not set. Share a public link" in warning


async def test_delivery_state_shows_on_the_reply_and_a_failed_one_can_be_retried(
    bridge, slack, membrane, thread_ts
):
    ts = await refused_reply(bridge, slack, membrane, thread_ts, "1800000010.000008")
    [warning] = [r for r in slack.replies(CHANNEL, thread_ts) if ":warning:" in r.text]
    [button] = warning.blocks[1]["elements"]
    assert button["text"]["text"] == "Try again" and button["value"] == ts

    status, _ = await bridge.click(button, message_ts=warning.ts, user="U0AGENT02")
    assert status == 200
    await bridge.settled()

    assert membrane.visible_messages("client-1") == ["Refund sent"]
    assert slack.reactions_on(CHANNEL, ts) == {"white_check_mark"}
    assert "Trying again, as Kim Lee asked" in warning.text  # the button is gone with it
    assert warning.blocks[0]["type"] == "context"

    status, _ = await bridge.click(button, message_ts=warning.ts, user="U0AGENT02")  # again
    await bridge.settled()
    assert membrane.visible_messages("client-1") == ["Refund sent"]


async def test_a_delivered_reply_shows_a_check_mark(bridge, slack, membrane, thread_ts):
    ts = "1800000010.000009"
    slack.person_wrote(CHANNEL, ts, thread_ts, "All good", user="U0AGENT01")
    await bridge.slack_event(reply(thread_ts, ts, "All good"), event_id())
    await bridge.settled()

    assert slack.reactions_on(CHANNEL, ts) == {"white_check_mark"}


async def test_a_shared_file_reaches_the_visitor_as_a_link_served_by_the_bridge(
    settings, slack, membrane
):
    app = await RunningApp(
        settings.model_copy(update={"public_url": "https://bridge.test"})
    ).start()
    try:
        thread_ts = (await start_chat(app, slack)).ts
        files = [
            slack.share_file("F1", "label 1.pdf", b"%PDF-1.7 label", "application/pdf"),
            slack.share_file("F2", "box.png", b"\x89PNG picture", "image/png"),
            slack.share_file("F3", "gone.txt", b"x", "text/plain"),
        ]
        del slack.files["F3"]  # deleted in Slack before the bridge fetched it
        event = reply(thread_ts, "1800000010.000011", "Your label:", subtype="file_share")
        await app.slack_event({**event, "files": files}, event_id())
        await app.settled()

        [sent] = membrane.visible_messages("client-1")
        first, pdf, png = sent.split("\n")
        assert first == "Your label:"
        assert pdf.startswith("📎 label 1.pdf (https://bridge.test/files/") and pdf.endswith(
            "%201.pdf)"
        )
        assert png.startswith("📎 box.png (https://bridge.test/files/")
        [warning] = warnings(slack, thread_ts)
        assert "“gone.txt”" in warning and "HTTP 404" in warning

        path = pdf.split("(https://bridge.test", 1)[1].rstrip(")")
        status, body = await app.request("GET", path)
        assert (status, body) == (200, "%PDF-1.7 label")
        async with aiohttp.ClientSession() as http:
            async with http.get(app.url + path) as response:
                assert response.headers["Content-Disposition"].startswith("attachment")
                assert response.headers["Content-Type"] == "application/octet-stream"
            png_path = png.split("(https://bridge.test", 1)[1].rstrip(")")
            async with http.get(app.url + png_path) as response:
                assert response.headers["Content-Type"] == "image/png"
        status, _ = await app.request("GET", path.replace(path.split("/")[2], "0" * 40))
        assert status == 404
    finally:
        await app.close()


async def test_membranes_error_texts_cannot_ping_the_channel_either(
    bridge, slack, membrane, thread_ts
):
    membrane.fail_next(
        "send-agent-message", status=400, type="bad_request", message="<!channel> <https://x|y>"
    )
    await bridge.slack_event(reply(thread_ts, "1800000010.000013", "hello"), event_id())
    await bridge.settled()

    [warning] = warnings(slack, thread_ts)
    assert "<!channel>" not in warning and "&lt;!channel&gt; &lt;https://x|y&gt;" in warning


async def share_one(app, slack, thread_ts: str, ts: str, file: dict) -> None:
    event = reply(thread_ts, ts, "Your invoice:", subtype="file_share")
    await app.slack_event({**event, "files": [file]}, event_id())
    await app.settled(within=15)


async def test_a_file_of_several_megabytes_reaches_the_visitor_whole(settings, slack, membrane):
    """Slack hands a big file over a piece at a time: every byte is kept, not the first 64 KB."""
    app = await RunningApp(settings.model_copy(update={"public_url": "https://b.test"})).start()
    try:
        thread_ts = (await start_chat(app, slack)).ts
        content = bytes(range(256)) * (6 * 4096)  # 6 MiB
        file = slack.share_file("F1", "invoice.pdf", content, "application/pdf")
        await share_one(app, slack, thread_ts, "1800000011.000001", file)

        [sent] = membrane.visible_messages("client-1")
        link = sent.split("(https://b.test", 1)[1].rstrip(")")
        async with aiohttp.ClientSession() as http, http.get(app.url + link) as response:
            assert response.status == 200
            assert await response.read() == content
        assert warnings(slack, thread_ts) == []
    finally:
        await app.close()


async def test_a_file_cut_short_on_the_way_is_refused_in_the_thread(settings, slack, membrane):
    app = await RunningApp(settings.model_copy(update={"public_url": "https://b.test"})).start()
    try:
        thread_ts = (await start_chat(app, slack)).ts
        file = slack.share_file("F2", "report.pdf", b"r" * 3_000_000, "application/pdf")
        slack.cut_files["F2"] = 1_000_000  # the connection drops a third of the way
        await share_one(app, slack, thread_ts, "1800000011.000002", file)

        [sent] = membrane.visible_messages("client-1")
        assert sent == "Your invoice:"  # the words go; no link to a third of a file
        [warning] = warnings(slack, thread_ts)
        assert "“report.pdf”" in warning and "cut short" in warning
    finally:
        await app.close()


async def test_a_try_again_stored_by_the_version_before_is_carried_out_once(
    bridge, slack, membrane, thread_ts
):
    """Before a retry's reason was typed, Try again stored the click's id as `retry_of`: such a
    try, still in the inbox at the upgrade, is sent as a retry, once."""
    ts = await refused_reply(bridge, slack, membrane, thread_ts, "1800000010.000011")

    runtime = bridge.app[CORE].runtime
    record = await runtime.store.messages.by_slack_ts(ts)
    await runtime.store.messages.update(record.id, state="pending", resends=0)  # as it did
    old = {"kind": "reply", "channel": CHANNEL, "thread_ts": thread_ts, "ts": ts,
           "user": "U0AGENT01", "text": "Refund sent", "retry_of": "1800000020.000001"}  # fmt: skip
    for _ in range(2):  # stored twice, carried out once
        await runtime.store.inbox.add(
            "slack", f"slack:retry:{ts}:1800000020.000001", lane("client-1", "slack"),
            json.dumps({"change": old}),
        )  # fmt: skip
    runtime.arrivals.stored(None)
    await bridge.settled()

    assert membrane.visible_messages("client-1") == ["Refund sent"]
    assert slack.reactions_on(CHANNEL, ts) == {"white_check_mark"}
