"""Nothing meant for a teammate reaches the visitor, and saved replies: a reply that mentions a
person, a group or @here waits for its author's word; `;name` sends a saved text."""

import asyncio

from tests.conftest import CHANNEL
from tests.helpers import RunningApp, chat_event, visitor_says, wait_for
from tests.test_escalation import FakeClock
from tests.test_slack_to_chatra import deletion, edit, event_id, reply, thread_ts

__all__ = ["thread_ts"]  # a fixture, used by name
TS = "1800000001.000500"


def question(slack) -> dict:
    [asked] = [post for post in slack.ephemeral_posts if post["user"] == "U0AGENT01"]
    return asked


def button(asked: dict, label: str) -> dict:
    buttons = next(b for b in asked["blocks"] if b["type"] == "actions")["elements"]
    return next(b for b in buttons if b["text"]["text"] == label)


async def test_a_reply_naming_a_teammate_waits_and_goes_on_send_to_visitor(
    bridge, slack, membrane, thread_ts
):
    text = "<@U0AGENT02> can you check? I will be right back"
    await bridge.slack_event(reply(thread_ts, TS, text), event_id())
    await bridge.settled()
    asked = await wait_for(lambda: question(slack))
    assert asked["text"] == ":raised_hand: This mentions @Kim Lee: send it to the visitor?"
    assert asked["thread_ts"] == thread_ts and asked["channel"] == CHANNEL
    assert membrane.runs == []  # nothing went

    await bridge.click(button(asked, "Keep as a note"), message_ts=TS, user="U0AGENT02")
    said = await wait_for(lambda: slack.responses)
    assert said[0]["text"] == "Only the reply's author can decide."
    await bridge.click(button(asked, "Send to visitor"), message_ts=TS, user="U0AGENT01")
    await bridge.settled()
    assert membrane.visible_messages("client-1") == ["@Kim Lee can you check? I will be right back"]
    assert slack.responses[-1]["text"] == ":outbox_tray: Sent to the visitor, mentions as names."
    assert slack.responses[-1]["replace_original"] is True
    await bridge.click(button(asked, "Send to visitor"), message_ts=TS, user="U0AGENT01")
    await bridge.settled()
    assert len(membrane.runs_of("send-agent-message")) == 1  # a second click sends nothing


async def test_keep_as_a_note_never_sends_it(bridge, slack, membrane, thread_ts):
    for n, text in enumerate(["<!here> who knows this one?", "ask <!subteam^S0BILLING|@billing>"]):
        slack.person_wrote(CHANNEL, f"{TS[:-1]}{n}", thread_ts, text, user="U0AGENT01")
        await bridge.slack_event(reply(thread_ts, f"{TS[:-1]}{n}", text), event_id())
    await bridge.settled()
    asked = await wait_for(lambda: len(slack.ephemeral_posts) == 2 and slack.ephemeral_posts)
    assert [a["text"] for a in asked] == [
        ":raised_hand: This mentions @here: send it to the visitor?",
        ":raised_hand: This mentions @billing: send it to the visitor?",
    ]
    for n, one in enumerate(asked):
        await bridge.click(
            button(one, "Keep as a note"), message_ts=f"{TS[:-1]}{n}", user="U0AGENT01"
        )
    await bridge.settled()
    await asyncio.sleep(0.2)
    assert membrane.runs == []
    assert slack.reactions_on(CHANNEL, f"{TS[:-1]}0") == {"lock"}


async def test_no_answer_in_ten_minutes_keeps_it_as_a_note(settings, slack, membrane):
    clock = FakeClock()
    fast = settings.model_copy(update={"escalation_check_seconds": 0.05})
    app = await RunningApp(fast, clock).start()
    try:
        await app.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")]))
        await app.settled()
        card = slack.parents(CHANNEL)[0].ts
        slack.person_wrote(CHANNEL, TS, card, "<@U0AGENT02> yours?", user="U0AGENT01")
        await app.slack_event(reply(card, TS, "<@U0AGENT02> yours?"), event_id())
        await app.settled()
        asked = await wait_for(lambda: question(slack))
        clock.advance(9)
        await asyncio.sleep(0.3)
        assert slack.reactions_on(CHANNEL, TS) == set()  # still waiting for its author
        clock.advance(2)
        await wait_for(lambda: slack.reactions_on(CHANNEL, TS) == {"lock"})
        await app.click(button(asked, "Send to visitor"), message_ts=TS, user="U0AGENT01")
        said = await wait_for(lambda: slack.responses)
        assert said[0]["text"] == "Already decided: nothing changed."
        await app.settled()
        assert membrane.runs == []
    finally:
        await app.close()


async def test_a_reply_without_mentions_goes_at_once_and_note_in_any_case_stays(
    bridge, slack, membrane, thread_ts
):
    await bridge.slack_event(reply(thread_ts, TS, "On its way, jane@example.org"), event_id())
    note = "NOTE: VIP, <@U0AGENT02>"
    slack.person_wrote(CHANNEL, f"{TS[:-1]}1", thread_ts, note, user="U0AGENT01")
    await bridge.slack_event(reply(thread_ts, f"{TS[:-1]}1", note), event_id())
    await bridge.settled()
    assert membrane.visible_messages("client-1") == ["On its way, jane@example.org"]
    assert slack.ephemeral_posts == []  # nobody was asked
    assert slack.reactions_on(CHANNEL, f"{TS[:-1]}1") == {"lock"}


async def test_with_the_question_off_a_mention_goes_as_before(settings, slack, membrane):
    off = settings.model_copy(update={"ask_before_mentions": False})
    app = await RunningApp(off).start()
    try:
        await app.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")]))
        await app.settled()
        card = slack.parents(CHANNEL)[0].ts
        await app.slack_event(reply(card, TS, "<@U0AGENT02> will help"), event_id())
        await app.settled()
        assert membrane.visible_messages("client-1") == ["@Kim Lee will help"]
    finally:
        await app.close()


async def test_a_saved_reply_is_sent_filled_in_and_shown_under_the_reply(
    bridge, slack, membrane, thread_ts
):
    _, added = await bridge.slash_command(
        "saved add refund Hi {visitor}, {agent} here: refunds take 5 days."
    )
    assert added["text"] == "Saved `;refund`."
    _, listed = await bridge.slash_command("saved")
    assert "`;refund` Hi {visitor}, {agent} here" in listed["text"]
    assert listed["response_type"] == "ephemeral"

    slack.person_wrote(CHANNEL, TS, thread_ts, ";refund Sorry!", user="U0AGENT01")
    await bridge.slack_event(reply(thread_ts, TS, ";Refund Sorry!"), event_id())
    await bridge.settled()
    sent = "Hi Jane, Sam here: refunds take 5 days. Sorry!"
    assert membrane.visible_messages("client-1") == [sent]
    shown = [r.text for r in slack.replies(CHANNEL, thread_ts) if ":memo:" in r.text]
    assert shown == [f":memo: Sent as `;refund`: {sent}"]

    await bridge.slack_event(edit(thread_ts, TS, ";refund Sorry!", ";refund"), event_id())
    await bridge.settled()
    assert membrane.visible_messages("client-1") == ["Hi Jane, Sam here: refunds take 5 days."]
    await bridge.slack_event(deletion(thread_ts, TS, ";refund"), event_id())
    await bridge.settled()
    assert membrane.visible_messages("client-1") == []


async def test_an_unknown_saved_reply_is_told_to_its_author_alone_and_nothing_is_sent(
    bridge, slack, membrane, thread_ts
):
    await bridge.slack_event(reply(thread_ts, TS, ";nope"), event_id())
    await bridge.settled()
    told = await wait_for(lambda: question(slack))
    assert told["text"] == "No saved reply `;nope`: nothing was sent. `/chatra saved` lists them."
    assert membrane.runs == [] and slack.replies(CHANNEL, thread_ts) == []
    _, removed = await bridge.slash_command("saved remove nope")
    assert removed["text"] == "No saved reply `;nope`."
