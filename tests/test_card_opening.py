"""A new chat's card opens with what the visitor wrote: the first message, and those that came
while the card waited for its slot; nothing of it repeated in the thread."""

from tests.conftest import CHANNEL
from tests.helpers import chat_event, run_sql, start_chat, visitor_says, wait_for


async def test_messages_that_wait_for_the_cards_slot_join_the_card_once(bridge, slack):
    for n in range(12):  # more cards than a burst: the next one waits seconds for its slot
        await bridge.webhook(chat_event("chatStarted", f"client-{n}", name=f"Other {n}"))
    said = [visitor_says("m1", "Where is my parcel?")]
    await bridge.webhook(chat_event("chatStarted", "client-x", said, name="Jane"))
    said += [visitor_says("m2", "Order 7", at=1_732_450_001_000)]
    await bridge.webhook(chat_event("chatFragment", "client-x", said, name="Jane"))
    said += [visitor_says("m3", "Anyone?", at=1_732_450_002_000)]
    await bridge.webhook(chat_event("chatFragment", "client-x", said, name="Jane"))
    await bridge.settled(within=20)

    [card] = [card for card in slack.parents(CHANNEL) if card.text.startswith("Jane")]
    assert card.lines == [("Jane", "Where is my parcel?"), ("Jane", "Order 7"), ("Jane", "Anyone?")]
    assert slack.replies(CHANNEL, card.ts) == [] and slack.rate_limited == 0
    stored = run_sql(
        bridge.settings, "SELECT slack_ts FROM messages WHERE client_id = 'client-x' ORDER BY id"
    )
    assert stored == [(card.ts,)] * 3  # each message is the card's, for reactions and lookups

    await bridge.webhook(chat_event("chatTranscript", "client-x", said, name="Jane"))
    await bridge.settled()
    assert slack.replies(CHANNEL, card.ts) == [] and card.lines[1] == ("Jane", "Order 7")


async def test_a_card_whose_first_try_failed_opens_with_what_came_meanwhile(bridge, slack):
    slack.fail_next("chat.postMessage", status=500, error="internal_error")  # the card waits
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")]))
    await wait_for(lambda: slack.calls_to("chat.postMessage"))  # tried: it may be on Slack
    later = [visitor_says("m2", "anyone?", at=1_732_450_001_000)]
    await bridge.webhook(chat_event("chatFragment", messages=later))
    await bridge.settled(within=15)

    [card] = slack.parents(CHANNEL)  # looked for first (not there), then posted once
    assert card.joined == ["hi", "anyone?"] and slack.replies(CHANNEL, card.ts) == []
    assert len(slack.calls_to("conversations.history")) == 1


async def test_the_card_opens_with_what_the_visitor_wrote_and_keeps_it_through_redraws(
    bridge, slack
):
    said = [
        visitor_says("m1", "Where is my parcel?"),
        visitor_says("m2", "Order 7", at=1_732_450_001_000),
    ]
    await bridge.webhook(chat_event("chatStarted", messages=said, name="Jane"))
    await bridge.settled()
    [card] = slack.parents(CHANNEL)
    assert card.lines == [("Jane", "Where is my parcel?"), ("Jane", "Order 7")]
    assert slack.replies(CHANNEL, card.ts) == []  # nothing twice

    claim = next(b for b in card.blocks if b["type"] == "actions")["elements"][0]
    await bridge.click(claim, message_ts=card.ts, user="U0AGENT02")
    await wait_for(lambda: "Taken by <@U0AGENT02>" in str(card.blocks))
    closing = chat_event("chatTranscript", messages=said, email="jane@example.org", name="Jane")
    await bridge.webhook(closing)  # closed, and her details changed: redrawn twice
    await bridge.settled()
    assert "closed" in str(card.blocks).lower() and "jane@example.org" in str(card.blocks)
    assert card.lines == [("Jane", "Where is my parcel?"), ("Jane", "Order 7")]
    assert card.text.startswith("Jane: Where is my parcel?")
    assert slack.replies(CHANNEL, card.ts) == []


async def test_a_long_first_message_begins_on_the_card_and_is_whole_in_the_thread(bridge, slack):
    long = "My parcel never came. " * 30  # 660 characters
    said = [visitor_says("m1", long), visitor_says("m2", "Thanks", at=1_732_450_001_000)]
    card = await start_chat(bridge, slack, messages=said, name="Jane")
    [(author, beginning)] = card.lines  # the card stops there: the thread goes on in order
    assert author == "Jane" and beginning.endswith("…\n_… continued in the thread_")
    assert long.startswith(beginning.removesuffix("…\n_… continued in the thread_"))
    assert 250 < len(beginning) < 350
    assert [r.text for r in slack.replies(CHANNEL, card.ts)] == [long, "Thanks"]  # whole


async def test_after_a_restart_between_the_card_and_the_next_message_it_goes_in_the_thread(
    bridge, slack
):
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")]))
    await bridge.settled()
    await bridge.restart()
    later = [visitor_says("m1", "hi"), visitor_says("m2", "anyone?", at=1_732_450_001_000)]
    await bridge.webhook(chat_event("chatFragment", messages=later))
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert card.joined == ["hi"] and [r.text for r in slack.replies(CHANNEL, card.ts)] == [
        "anyone?"
    ]
    stored = run_sql(bridge.settings, "SELECT text, slack_ts FROM messages ORDER BY id")
    assert stored[0] == ("hi", card.ts)  # the card is the post of the message it opens with
