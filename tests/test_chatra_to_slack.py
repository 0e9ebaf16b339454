"""Chatra -> Slack: every chat becomes a thread with a visitor card; every message a reply, once."""

from tests.conftest import CHANNEL
from tests.helpers import chat_event, visitor_says

JANE = {
    "name": "Jane Doe",
    "email": "jane@example.org",
    "phone": "+1 555 0100",
    "chatStartUrl": "https://shop.example.org/pricing",
    "chatStartTitle": "Pricing",
    "city": "Berlin",
    "country": "Germany",
}


async def test_chat_started_posts_a_visitor_card_and_the_messages_in_order(bridge, slack):
    messages = [
        visitor_says("m2", "It was due Monday", at=1_732_450_005_000),
        visitor_says("m1", "Hi, my order is late", at=1_732_450_000_000),
    ]
    status, body = await bridge.webhook(chat_event("chatStarted", messages=messages, **JANE))
    assert status == 200 and body["ok"] is True
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert "Jane Doe" in card.text and "jane@example.org" in card.text
    card_text = str(card.blocks)
    for shown in ("Jane Doe", "jane@example.org", "+1 555 0100", "Pricing", "Berlin, Germany"):
        assert shown in card_text
    assert "https://app.chatra.io/chat/chat-client-1" in card_text
    replies = [r.text for r in slack.replies(CHANNEL, card.ts)]
    assert len(replies) == 2
    assert "Jane Doe" in replies[0] and "Hi, my order is late" in replies[0]
    assert "It was due Monday" in replies[1]
