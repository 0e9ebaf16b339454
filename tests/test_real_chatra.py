"""Chatra and Membrane as they really are (../shared/reference, "traps"): webhooks whose messages
have no id, odd shapes that cost nothing but themselves, actions whose inputs have other names."""

import asyncio
import logging

from bot.cli import main as cli
from sandbox.chatra import chat_event, message, visitor_says
from storage import Inbox, open_database
from tests.conftest import CHANNEL
from tests.helpers import RunningApp, event_id, reply, start_chat, wait_for


def replies(slack) -> list[str]:
    """What the channel shows of the one chat: its card's opening, then its thread."""
    [card] = slack.parents(CHANNEL)
    return slack.chat(CHANNEL, card.ts)


async def test_odd_messages_are_skipped_with_a_reason_and_the_rest_are_posted(
    bridge, slack, caplog
):
    caplog.set_level(logging.WARNING)
    odd = [
        {"type": "client", "text": 42, "createdAt": 1},  # a number where text was expected
        {"type": "client", "text": "", "createdAt": 2},
        {"type": "client", "message": "\x00\x07", "createdAt": 3},
        {"type": "client", "file": {"name": "lost.pdf"}, "createdAt": 4},
        "not an object",
        {  # the successor API's file object
            "type": "client",
            "file": {
                "filename": "a.png",
                "size": 10,
                "isImage": True,
                "url": "https://f.example/a.png",
            },
            "createdAt": 6,
        },
        {
            "type": "client",
            "text": "see this",
            "files": [
                {"url": "https://f.example/b.pdf", "name": "b.pdf", "type": "application/pdf"}
            ],
            "createdAt": 7,
        },
        {"type": "client", "text": "hello", "mood": {"happy": True}, "createdAt": 8},
    ]
    status, body = await bridge.webhook(chat_event("chatFragment", messages=odd, name="Jane"))
    assert status == 200 and body["ok"]
    await bridge.settled()

    shown = replies(slack)  # the card opens with them all, the picture shown as in a reply
    assert shown[0] == "42"
    assert ":paperclip: <https://f.example/a.png|a.png>" in shown[1]
    picture = {"type": "image", "image_url": "https://f.example/a.png", "alt_text": "a.png"}
    assert picture in slack.parents(CHANNEL)[0].blocks
    assert shown[2] == "see this\n:paperclip: <https://f.example/b.pdf|b.pdf>"
    assert shown[3] == "hello"
    assert len(shown) == 4
    for reason in ("no text", "only control characters", "a file without a URL", "not an object"):
        assert f"{reason}, skipped" in caplog.text
    assert "(chat client-1, thread C0SUPPORT1/" in caplog.text  # as an operator finds it


async def test_a_message_without_id_is_posted_once_whatever_repeats_it(bridge, slack):
    said = [visitor_says("", "Is it in stock?", at=1_000), visitor_says("", "Size 42", at=2_000)]
    await bridge.webhook(chat_event("chatStarted", messages=said[:1]))
    await bridge.webhook(chat_event("chatFragment", messages=said))
    await bridge.webhook(chat_event("chatFragment", messages=said[1:], note="a new body"))
    await bridge.webhook(chat_event("chatTranscript", messages=[*said, visitor_says("", "Bye")]))
    await bridge.settled()

    assert replies(slack) == ["Is it in stock?", "Size 42", "Bye"]


async def test_a_late_chat_started_does_not_reopen_a_closed_card(bridge, slack):
    hello = [visitor_says("", "hello")]
    await bridge.webhook(chat_event("chatTranscript", messages=hello, name="Jane"))
    await bridge.settled()
    await bridge.webhook(chat_event("chatStarted", messages=hello, name="Jane"))
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert "closed" in str(card.blocks).lower()
    assert replies(slack) == ["hello"]


async def test_our_own_messages_echoed_by_chatra_are_never_mirrored(bridge, slack):
    thread_ts = (await start_chat(bridge, slack, messages=[visitor_says("", "hi")])).ts
    await bridge.slack_event(reply(thread_ts, "1800000001.000100", "On its way"), event_id())
    await bridge.settled()
    ours = message("agent", "", "On its way", 5_000) | {"receivedFrom": "chatra-bridge"}
    edited_in_chatra = ours | {"text": "On its way!"}  # same mark: still ours
    unmarked_copy = message("agent", "", "On its way", 6_000)  # no mark, no id: our very text
    dashboard = message("agent", "", "Ana here too", 7_000) | {"agentId": "a9"}
    for echo in (ours, edited_in_chatra, unmarked_copy, dashboard):
        await bridge.webhook(chat_event("chatFragment", messages=[echo]))
    await bridge.settled()

    bridge_posts = [r for r in slack.replies(CHANNEL, thread_ts) if r.user is None]
    assert slack.parents(CHANNEL)[0].lines == [("Visitor #1042", "hi")]  # the card opens with it
    assert [(r.author, r.text) for r in bridge_posts] == [("Ana (Chatra)", "Ana here too")]


async def test_replies_reach_chatra_under_the_input_names_the_connection_has(
    settings, slack, membrane
):
    membrane.rename("send-agent-message", clientId="client_id", text="message")
    app = await RunningApp(settings).start()
    try:
        thread_ts = (await start_chat(app, slack, messages=[visitor_says("", "hi")])).ts
        await app.slack_event(reply(thread_ts, "1800000001.000200", "First"), event_id())
        await app.settled()
        membrane.rename("send-agent-message", clientId="id")  # changed while running
        await app.slack_event(reply(thread_ts, "1800000001.000201", "Second"), event_id())
        await app.settled()
    finally:
        await app.close()

    sent = membrane.runs_of("send-agent-message")
    assert [sorted(run) for run in sent] == [
        ["agentId", "client_id", "message", "receivedFrom"],
        ["agentId", "id", "message", "receivedFrom"],
    ]
    assert membrane.visible_messages("client-1") == ["First", "Second"]


async def test_an_event_that_cannot_be_carried_out_is_told_listed_and_replayed(
    settings, slack, capsys
):
    settings = settings.model_copy(
        update={"escalation_check_seconds": 0.1, "inbox_rescan_seconds": 0.2}
    )
    db = await asyncio.to_thread(open_database, settings.database())
    inbox = Inbox(db)
    body = '{"eventName": "chatStarted", "client": {"id": "c-9"}, "messages": [{"text": "hi"}]}'
    for n in range(2):  # as if an older version could not carry them out
        event_id_ = await inbox.add("chatra", f"old-{n}", "c-9", body)
        await inbox.mark_failed(event_id_, "KeyError: 'id'")
    app = await RunningApp(settings).start()
    try:
        notice = await wait_for(
            lambda: [m for m in slack.parents(CHANNEL) if "could not be carried out" in m.text]
        )
        assert notice[0].text.startswith(":warning: 2 events from Chatra or Slack could not be")
        assert "KeyError" in notice[0].text and "chatra-bridge db retry --all" in notice[0].text

        path = ["db", "--database", settings.database()]
        assert await asyncio.to_thread(cli, [*path, "failed"]) == 0  # as an operator would
        listed = capsys.readouterr().out
        assert listed.startswith("2 failed events") and "chat c-9" in listed
        assert "KeyError: 'id'" in listed
        assert await asyncio.to_thread(cli, [*path, "retry", "1"]) == 0
        assert "1 failed event made pending again" in capsys.readouterr().out

        await wait_for(lambda: replies_of_chat(slack) == ["hi"], within=5)  # at last
        assert await asyncio.to_thread(cli, [*path, "retry", "1", "77"]) == 0
        said = capsys.readouterr().out
        assert "0 failed events made pending again" in said
        assert "no failed event 1, 77: `db failed` lists them" in said
        assert await inbox.count("failed") == 1
        assert len([m for m in slack.parents(CHANNEL) if "carried out" in m.text]) == 1
    finally:
        await app.close()
        await asyncio.to_thread(db.close)


def replies_of_chat(slack) -> list[str]:
    return [said for card in slack.parents(CHANNEL) for said in slack.chat(CHANNEL, card.ts)]


async def test_every_post_carries_a_fallback_text_files_and_pictures_too(bridge, slack, recwarn):
    picture = {"url": "https://f.example/box.png", "name": "box.png", "type": "image/png"}
    said = [
        {"type": "client", "file": picture, "createdAt": 1},
        {
            "type": "client",
            "text": " ",
            "file": {"filename": "label.pdf", "url": "https://f.example/l.pdf"},
            "createdAt": 2,
        },
    ]
    await bridge.webhook(chat_event("chatStarted", messages=said, name="Jane"))
    await bridge.settled()

    assert all(m.text.strip() for m in slack.messages)  # what notifications and screen readers read
    assert not [w for w in recwarn if "top-level `text`" in str(w.message)]
