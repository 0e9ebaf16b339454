"""A busy channel: Slack takes about a post a second, so the bridge paces, joins and appends its
posts, never loses or repeats one, and a quiet chat is not kept waiting behind a busy one."""

import pytest

from tests.conftest import CHANNEL
from tests.helpers import chat_event, run_sql, visitor_says, wait_for


async def test_slack_rate_limit_is_waited_out_and_nothing_is_lost(bridge, slack):
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")]))
    await bridge.settled(within=10)

    [card] = slack.parents(CHANNEL)
    assert slack.chat(CHANNEL, card.ts) == ["hi"]


async def test_a_post_whose_answer_was_lost_is_not_posted_twice(bridge, slack):
    slack.fail_next(
        "chat.postMessage", after_effect=True, reset=True
    )  # the card: posted, no answer
    slack.fail_next("chat.postMessage", after_effect=True, status=500, error="internal_error")
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "one")]))
    await wait_for(lambda: slack.parents(CHANNEL))  # on Slack: nothing joins it any more
    later = [visitor_says("m2", "two", at=1_732_450_001_000)]
    await bridge.webhook(chat_event("chatFragment", messages=later))  # a reply: posted, a 500
    await bridge.settled(within=15)

    [card] = slack.parents(CHANNEL)
    assert card.joined == ["one"] and [r.text for r in slack.replies(CHANNEL, card.ts)] == ["two"]


async def test_a_joined_post_whose_answer_was_lost_is_not_posted_twice(bridge, slack):
    """More messages than a burst: those that wait go as one post. Its answer is lost; the post is
    found, not posted again, and every message it carries points at it (reactions, edits)."""

    def lose_the_answer_of_the_fifth_post(_: object) -> None:
        if len(slack.messages) == 4:
            slack.fail_next("chat.postMessage", after_effect=True, reset=True)

    slack.on_post = lose_the_answer_of_the_fifth_post
    said = [visitor_says(f"m{n}", f"say {n}", at=1_732_450_000_000 + n) for n in range(9)]
    await bridge.webhook(chat_event("chatStarted", messages=said[:1]))
    await bridge.settled()  # the card is on Slack: the rest go in its thread
    await bridge.webhook(chat_event("chatFragment", messages=said[1:]))
    await bridge.settled(within=20)

    [card] = slack.parents(CHANNEL)
    thread = slack.replies(CHANNEL, card.ts)
    assert slack.chat(CHANNEL, card.ts) == [f"say {n}" for n in range(9)]
    assert any(len(reply.said) > 1 for reply in thread)
    posted_in = {text: reply.ts for reply in thread for text in reply.said} | {"say 0": card.ts}
    stored = dict(
        run_sql(bridge.settings, "SELECT text, slack_ts FROM messages WHERE origin = 'chatra'")
    )
    assert stored == posted_in


@pytest.mark.parametrize("answer", ["answered", "lost"])
async def test_while_the_channel_is_behind_a_new_chats_next_messages_open_its_card(
    bridge, slack, answer
):
    """A visitor writing on just after their card went out is not kept behind eight other
    cards: what they add is appended to what the card opens with (an update, its own budget).
    An update whose answer is lost is found on the card: the card keeps showing it, nothing is
    posted again."""
    slack.post_limit = (5, 1.0)
    if answer == "lost":
        slack.fail_next("chat.update", after_effect=True, status=500, error="internal_error")
        for _ in range(3):  # and its client's retries: the poster is left in doubt
            slack.fail_next("chat.update", status=500, error="internal_error")
    hello = chat_event("chatStarted", "client-a", [visitor_says("a0", "hello")], name="Ann")
    await bridge.webhook(hello)
    await wait_for(lambda: slack.parents(CHANNEL))
    for n in range(8):  # more cards than a burst: the channel falls behind for seconds
        await bridge.webhook(chat_event("chatStarted", f"client-{n}", name=f"Other {n}"))
    await wait_for(lambda: len(slack.parents(CHANNEL)) >= 4)
    more = [visitor_says(f"a{n}", f"more {n}", at=1_732_450_000_000 + n) for n in (1, 2)]
    await bridge.webhook(chat_event("chatFragment", "client-a", [*hello["messages"], *more]))
    await bridge.settled(within=20)

    renamed = chat_event("chatFragment", "client-a", [*hello["messages"], *more], name="Ann Lee")
    await bridge.webhook(renamed)  # the card is drawn again, from what was recorded
    await bridge.settled(within=20)

    card = slack.parents(CHANNEL)[0]
    assert "Ann Lee" in card.text and not slack.replies(CHANNEL, card.ts)
    assert card.joined == ["hello", "more 1", "more 2"]
    assert len(slack.parents(CHANNEL)) == 9 and slack.rate_limited == 0
    stored = run_sql(
        bridge.settings,
        "SELECT DISTINCT slack_ts FROM messages WHERE client_id = 'client-a' AND origin = 'chatra'",
    )
    assert stored == [(card.ts,)]


async def test_a_chat_that_starts_behind_a_busy_one_is_not_kept_waiting(bridge, slack):
    """One visitor pastes 40 long messages (a post each); a chat that starts just after gets its
    card and its first message within a few slots, not after the 40."""
    slack.post_limit = (5, 1.0)
    flood = [
        visitor_says(f"f{n}", f"log {n} " + "x" * 2000, at=1_732_450_000 + n) for n in range(40)
    ]
    await bridge.webhook(chat_event("chatStarted", "client-busy", flood, name="Busy"))
    await wait_for(lambda: len(slack.messages) >= 3)  # the flood has begun
    newcomer = [visitor_says("n1", "help")]
    await bridge.webhook(chat_event("chatStarted", "client-new", newcomer, name="Newcomer"))

    await wait_for(lambda: len(slack.parents(CHANNEL)) == 2, within=10)
    [busy_card, new_card] = slack.parents(CHANNEL)
    assert new_card.text.startswith("Newcomer: help") and new_card.joined == ["help"]
    assert len(slack.replies(CHANNEL, busy_card.ts)) <= 8  # not 40: the chats took turns
    assert slack.rate_limited == 0


async def test_a_burst_is_paced_so_slack_never_rate_limits_us(bridge, slack):
    """Three chats at once, more than a burst: paced, and what waits for a slot is joined."""
    slack.post_limit = (5, 1.0)  # Slack: about 1 post per second per channel, short bursts
    chats = [("client-a", "A"), ("client-b", "B"), ("client-c", "C")]
    for client_id, name in chats:
        messages = [
            visitor_says(f"{name}{n}", f"{name} {n}", at=1_732_450_000_000 + n) for n in range(2)
        ]
        await bridge.webhook(chat_event("chatStarted", client_id, messages, name=name))
    await bridge.settled(within=20)

    assert slack.rate_limited == 0
    assert len(slack.parents(CHANNEL)) == 3
    cards = {card.text.split(":")[0]: card for card in slack.parents(CHANNEL)}
    for _, name in chats:  # chats side by side: their cards in any order
        assert slack.chat(CHANNEL, cards[name].ts) == [f"{name} 0", f"{name} 1"]
    assert len(slack.messages) == 3  # one post a chat: each card opens with its messages


async def test_while_the_channel_is_behind_new_messages_are_appended_to_the_threads_last_post(
    bridge, slack
):
    slack.post_limit = (5, 1.0)
    await bridge.webhook(chat_event("chatStarted", "client-a", [visitor_says("a0", "hello")]))
    await bridge.settled()  # the card is on Slack: what comes next is in the thread
    first = [visitor_says("a9", "first", at=1_732_449_999_999)]
    await bridge.webhook(chat_event("chatFragment", "client-a", first))
    await bridge.settled()
    others = [chat_event("chatStarted", f"client-{n}", name=f"Other {n}") for n in range(6)]
    for started in others:  # more cards than a burst: the channel falls behind
        await bridge.webhook(started)
    more = [visitor_says(f"a{n}", f"more {n}", at=1_732_450_000_000 + n) for n in (1, 2)]
    await bridge.webhook(chat_event("chatFragment", "client-a", more))
    await bridge.settled(within=20)

    card = slack.parents(CHANNEL)[0]
    [last] = slack.replies(CHANNEL, card.ts)  # one post, redrawn: no new post for them
    assert last.said == ["first", "more 1", "more 2"] and last.history == ["first"]
    assert len(slack.parents(CHANNEL)) == 7 and slack.rate_limited == 0
    stored = run_sql(
        bridge.settings,
        "SELECT DISTINCT slack_ts FROM messages WHERE client_id = 'client-a' AND origin = 'chatra'",
    )
    assert {ts for (ts,) in stored} == {card.ts, last.ts}  # "hello" is on the card
