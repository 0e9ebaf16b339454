"""Nothing meant for a teammate reaches the visitor, and saved replies: a reply that mentions a
person, a group or @here waits for its author's word; `;name` sends a saved text."""

import asyncio

from sandbox.slack_wire import BOT_USER_ID
from tests.conftest import CHANNEL, FakeClock
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
    assert asked["text"] == (
        ":raised_hand: This mentions @Kim Lee: send it to the visitor?"
        " “@Kim Lee can you check? I will be right back”"
    )
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
        ":raised_hand: This mentions @here: send it to the visitor? “@here who knows this one?”",
        ":raised_hand: This mentions @billing: send it to the visitor? “ask @billing”",
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
        card = (await start_chat(app, slack, says="hi")).ts
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
        card = (await start_chat(app, slack, says="hi")).ts
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


async def test_a_reply_deleted_while_its_author_is_asked_never_reaches_the_visitor(
    bridge, slack, membrane, thread_ts
):
    text = "<@U0AGENT02> this customer is a fraudster, ignore them"
    other = "<!here> anyone good with refunds?"
    await bridge.slack_event(reply(thread_ts, TS, text), event_id())
    await bridge.slack_event(reply(thread_ts, f"{TS[:-1]}9", other), event_id())
    await bridge.settled()
    asked = await wait_for(lambda: len(slack.ephemeral_posts) == 2 and slack.ephemeral_posts)
    assert [a["text"].split("? ")[1] for a in asked] == [  # each quotes the reply it is about
        "“@Kim Lee this customer is a fraudster, ignore them”",
        "“@here anyone good with refunds?”",
    ]
    await bridge.slack_event(deletion(thread_ts, TS, text), event_id())
    await bridge.settled()
    await bridge.click(button(asked[0], "Send to visitor"), message_ts=TS, user="U0AGENT01")
    said = await wait_for(lambda: slack.responses)
    assert said[0]["text"] == (
        ":wastebasket: The reply was deleted in Slack: nothing was sent to the visitor."
    )
    await bridge.settled()
    assert membrane.runs == []


async def test_a_failed_reply_deleted_in_slack_cannot_be_tried_again(
    bridge, slack, membrane, thread_ts
):
    membrane.fail_next("send-agent-message", status=400, type="bad_request", message="too long")
    await bridge.slack_event(reply(thread_ts, TS, "Hello there"), event_id())
    await bridge.settled()
    [warning] = [r for r in slack.replies(CHANNEL, thread_ts) if ":warning:" in r.text]
    await bridge.slack_event(deletion(thread_ts, TS, "Hello there"), event_id())
    await bridge.settled()
    retry = button({"blocks": warning.blocks}, "Try again")
    await bridge.click(retry, message_ts=warning.ts, user="U0AGENT01")
    await bridge.settled()
    assert membrane.visible_messages("client-1") == []


async def test_an_edit_that_adds_a_mention_asks_and_the_visitor_keeps_the_old_text(
    bridge, slack, membrane, thread_ts
):
    await bridge.slack_event(reply(thread_ts, TS, "Let me check"), event_id())
    await bridge.settled()
    assert membrane.visible_messages("client-1") == ["Let me check"]
    edited = "Let me check <@U0AGENT02> do you know?"
    await bridge.slack_event(edit(thread_ts, TS, "Let me check", edited), event_id())
    await bridge.settled()
    asked = await wait_for(lambda: question(slack))
    assert asked["text"].startswith(":raised_hand: Your edit mentions @Kim Lee: send it to")
    assert membrane.visible_messages("client-1") == ["Let me check"]  # meanwhile

    await bridge.click(button(asked, "Send to visitor"), message_ts=TS, user="U0AGENT01")
    await bridge.settled()
    assert membrane.visible_messages("client-1") == ["Let me check @Kim Lee do you know?"]
    assert slack.responses[-1]["text"] == (
        ":outbox_tray: The visitor's copy is edited, mentions as names."
    )
    fixed = "Let me check <@U0AGENT02> do you know this?"  # the same mention: not asked again
    await bridge.slack_event(edit(thread_ts, TS, edited, fixed), event_id())
    await bridge.settled()
    assert membrane.visible_messages("client-1") == ["Let me check @Kim Lee do you know this?"]
    assert len(slack.ephemeral_posts) == 1


async def test_an_edit_naming_a_teammate_in_a_held_reply_waits_for_its_author(
    bridge, slack, membrane, thread_ts
):
    membrane.disconnected = True
    await bridge.slack_event(reply(thread_ts, TS, "Be right back"), event_id())
    await bridge.settled()
    edited = "<@U0AGENT02> please take over"
    await bridge.slack_event(edit(thread_ts, TS, "Be right back", edited), event_id())
    await bridge.settled()
    asked = await wait_for(lambda: question(slack))
    membrane.disconnected = False
    await wait_for(lambda: membrane.visible_messages("client-1") == ["Be right back"])
    await bridge.click(button(asked, "Keep as a note"), message_ts=TS, user="U0AGENT01")
    await bridge.settled()
    assert slack.responses[-1]["text"] == (
        ":lock: The edit stays in Slack: the visitor keeps the earlier text."
    )
    assert membrane.visible_messages("client-1") == ["Be right back"]
    assert membrane.runs_of("edit-agent-message") == []


async def test_a_saved_reply_is_checked_as_it_will_be_sent(bridge, slack, membrane, thread_ts):
    await bridge.slash_command("saved add ask <@U0AGENT02> can you take {visitor}?")
    await bridge.slash_command("saved add vip note: VIP customer, be extra kind")
    slack.person_wrote(CHANNEL, TS, thread_ts, ";vip", user="U0AGENT01")
    await bridge.slack_event(reply(thread_ts, TS, ";vip"), event_id())
    await bridge.slack_event(reply(thread_ts, f"{TS[:-1]}1", ";ask"), event_id())
    await bridge.settled()
    asked = await wait_for(lambda: question(slack))
    assert asked["text"].startswith(":raised_hand: This mentions @Kim Lee: send it to the visitor")
    assert slack.reactions_on(CHANNEL, TS) == {"lock"}  # the saved note stays in Slack
    assert membrane.runs == []


async def test_the_visitors_name_is_filled_in_as_plain_text(settings, slack, membrane):
    app = await RunningApp(settings).start()
    try:
        started = chat_event(
            "chatStarted", messages=[visitor_says("m1", "hi")], name="<@U0AGENT02>"
        )
        await app.webhook(started)
        await app.settled()
        card = slack.parents(CHANNEL)[0].ts
        await app.slash_command("saved add hi Hi {visitor}!")
        await app.slack_event(reply(card, TS, ";hi"), event_id())
        await app.settled()
        assert membrane.visible_messages("client-1") == ["Hi <@U0AGENT02>!"]
        assert slack.ephemeral_posts == []  # the visitor's name is no mention
    finally:
        await app.close()


async def test_a_reply_naming_only_its_author_or_the_bot_goes_at_once(
    bridge, slack, membrane, thread_ts
):
    await bridge.slack_event(reply(thread_ts, TS, "<@U0AGENT01> here, on it"), event_id())
    await bridge.slack_event(reply(thread_ts, f"{TS[:-1]}1", f"<@{BOT_USER_ID}> hi"), event_id())
    await bridge.settled()
    assert membrane.visible_messages("client-1") == ["@Sam here, on it", "@Chatra hi"]
    assert slack.ephemeral_posts == []
