"""Chatra -> Slack: every chat becomes a thread with a visitor card; every message a reply, once."""

from bot.core.wire.text import slack_to_plain
from tests.conftest import CHANNEL
from tests.helpers import agent_says, chat_event, run_sql, start_chat, visitor_says

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
    # One post: the card opens with what Jane wrote, each under her name, in order.
    assert card.lines == [("Jane Doe", "Hi, my order is late"), ("Jane Doe", "It was due Monday")]
    assert card.text.startswith("Jane Doe: Hi, my order is late (New chat")
    assert slack.replies(CHANNEL, card.ts) == []


async def test_overlapping_fragments_and_duplicate_webhooks_post_each_message_once(bridge, slack):
    first = chat_event("chatStarted", messages=[visitor_says("m1", "one")])
    await bridge.webhook(first)
    status, body = await bridge.webhook(first)  # Chatra delivered the same webhook twice
    assert status == 200 and body["duplicate"] is True
    overlapping = [visitor_says("m1", "one"), visitor_says("m2", "two", at=1_732_450_001_000)]
    await bridge.webhook(chat_event("chatFragment", messages=overlapping))
    await bridge.webhook(
        chat_event(
            "chatTranscript",
            messages=[*overlapping, visitor_says("m3", "three", at=1_732_450_002_000)],
        )
    )
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert slack.chat(CHANNEL, card.ts) == ["one", "two", "three"]  # "one" on the card


async def test_agent_messages_written_in_chatra_are_labelled_with_the_agent(bridge, slack):
    messages = [
        visitor_says("m1", "Hello?"),
        agent_says("m2", "Hi, Ana here", at=1_732_450_003_000),
    ]
    await bridge.webhook(chat_event("chatFragment", messages=messages, name="Jane"))
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert card.lines == [("Jane", "Hello?"), ("Ana (Chatra)", "Hi, Ana here")]


async def test_anonymous_visitor_is_shown_by_number(bridge, slack):
    card = await start_chat(bridge, slack, says="hey", name="")
    assert "Visitor #1042" in card.text
    assert card.lines == [("Visitor #1042", "hey")]


async def test_broken_unicode_escapes_are_repaired_not_lost(bridge, slack):
    body = (
        '{"eventName": "chatStarted", "client": {"id": "c-1", "name": "J\\udc00"},'
        ' "messages": [{"id": "m1", "type": "client", "message": "hi \\ud83d \\ud83d\\ude00"}]}'
    )
    status, _ = await bridge.webhook(body.encode())
    assert status == 200
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert "J\ufffd" in card.text
    assert card.joined == ["hi \ufffd 😀"]


async def test_visitor_text_cannot_ping_the_channel(bridge, slack):
    card = await start_chat(bridge, slack, says="<!channel> help & <b>")
    [said] = card.joined
    assert "<!channel>" not in said and "<!channel>" not in card.text
    assert "&lt;!channel&gt; help &amp; &lt;b&gt;" in said


async def test_transcript_marks_the_card_closed_and_a_new_message_reopens_it(bridge, slack):
    await bridge.webhook(
        chat_event("chatStarted", messages=[visitor_says("m1", "hi")], name="Jane")
    )
    await bridge.webhook(
        chat_event("chatTranscript", messages=[visitor_says("m1", "hi")], name="Jane")
    )
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert "closed" in card.text.lower() and "closed" in str(card.blocks).lower()

    later = [visitor_says("m9", "one more thing", at=1_732_460_000_000)]
    await bridge.webhook(chat_event("chatStarted", messages=later, name="Jane"))
    await bridge.settled()
    assert slack.parents(CHANNEL) == [card]  # same thread
    assert "closed" not in str(card.blocks).lower()
    assert "one more thing" in slack.replies(CHANNEL, card.ts)[-1].text


async def test_the_closed_card_says_how_the_chat_went(bridge, slack):
    transcript = chat_event(
        "chatTranscript",
        messages=[
            visitor_says("m1", "hi", at=1_732_450_000_000),
            agent_says("m2", "hello", at=1_732_450_720_000),  # 12 minutes later
        ],
        name="Jane",
    )
    await bridge.webhook({**transcript, "rating": "good"})
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert "lasted 12 min · answered by Ana · rated good" in str(card.blocks)


async def test_changed_visitor_details_update_the_card_in_place(bridge, slack):
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")]))
    await bridge.settled()
    later = [visitor_says("m2", "my email", at=1_732_450_009_000)]
    await bridge.webhook(chat_event("chatFragment", messages=later, email="late@example.org"))
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert "late@example.org" in str(card.blocks)


async def test_two_chats_get_two_threads(bridge, slack):
    await bridge.webhook(
        chat_event("chatStarted", "client-a", [visitor_says("a1", "from a")], name="A")
    )
    await bridge.webhook(
        chat_event("chatStarted", "client-b", [visitor_says("b1", "from b")], name="B")
    )
    await bridge.settled()

    cards = {card.text.split(":")[0]: card for card in slack.parents(CHANNEL)}
    assert set(cards) == {"A", "B"}
    assert slack.chat(CHANNEL, cards["A"].ts) == ["from a"]
    assert slack.chat(CHANNEL, cards["B"].ts) == ["from b"]


async def test_a_very_long_message_arrives_whole_in_readable_pieces(bridge, slack):
    sentence = "Mein Paket 📦 ist nicht angekommen, שלום עולם, 👨‍👩‍👧 <b>&amp; "
    text = (sentence * (40_000 // len(sentence) + 1))[:40_000]
    message = visitor_says("m1", text.replace("Paket", "Pa\x00ket", 1))
    await bridge.webhook(chat_event("chatStarted", messages=[message]))
    await bridge.webhook(chat_event("chatFragment", messages=[message]))  # and once more
    await bridge.settled(within=30)

    [card] = slack.parents(CHANNEL)
    pieces = [r.text for r in slack.replies(CHANNEL, card.ts)]
    assert len(pieces) == 12  # 40,000 characters in pieces of at most 3,500
    shown = pieces[0] + "".join(pieces[1:])
    assert slack_to_plain(shown, {}) == text  # nothing lost or garbled; the NUL is gone
    assert all(len(p) < 40_000 for p in pieces)


async def test_visitor_files_appear_in_the_thread_images_shown(bridge, slack):
    photo = {"url": "https://files.example.org/p.png", "name": "parcel.png", "type": "image/png"}
    invoice = {
        "url": "https://files.example.org/i.pdf",
        "name": "invoice.pdf",
        "type": "application/pdf",
    }
    messages = [
        {**visitor_says("m1", "Look"), "file": photo},
        {**visitor_says("m2", "", at=1_732_450_001_000), "file": invoice},
    ]
    await bridge.webhook(chat_event("chatStarted", messages=messages, name="Jane"))
    await bridge.settled()

    [card] = slack.parents(CHANNEL)  # the card opens with both, as the thread would show them
    look, pdf = card.joined
    assert "Look" in look and "<https://files.example.org/p.png|parcel.png>" in look
    image = {
        "type": "image",
        "image_url": "https://files.example.org/p.png",
        "alt_text": "parcel.png",
    }
    assert image in card.blocks
    assert "<https://files.example.org/i.pdf|invoice.pdf>" in pdf
    assert slack.replies(CHANNEL, card.ts) == []


async def test_blocks_slack_refuses_fall_back_to_text(bridge, slack):
    await bridge.webhook(
        chat_event("chatStarted", messages=[visitor_says("m0", "hi")], name="Jane")
    )
    await bridge.settled()
    photo = {"url": "https://unreachable.example.org/p.png", "name": "p.png", "type": "image/png"}
    image_message = {**visitor_says("m1", "", at=1_732_450_001_000), "file": photo}
    await bridge.webhook(chat_event("chatFragment", messages=[image_message], name="Jane"))
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    replies = slack.replies(CHANNEL, card.ts)
    assert [r.text for r in replies][-1] == "Jane sent an image: p.png"
    assert replies[-1].blocks is None


async def test_a_visitor_back_after_the_idle_gap_gets_a_new_card_showing_their_earlier_chats(
    bridge, slack, settings
):
    first = [visitor_says("m1", "hi")]
    await bridge.webhook(chat_event("chatStarted", messages=first, name="Jane"))
    await bridge.webhook(chat_event("chatTranscript", messages=first, name="Jane"))
    await bridge.settled()
    two_days_ago = "UPDATE threads SET updated_at = updated_at - 2 * 86400"
    run_sql(settings, two_days_ago)
    await bridge.webhook(chat_event("chatTranscript", messages=first, name="Jane"))  # a repeat
    await bridge.settled()
    assert len(slack.parents(CHANNEL)) == 1  # nothing new: no new thread

    for n, text in ((2, "me again"), (3, "and again")):
        said = [visitor_says(f"m{n}", text, at=1_732_650_000_000 + n)]
        await bridge.webhook(chat_event("chatStarted", messages=said, name="Jane"))
        await bridge.webhook(chat_event("chatTranscript", messages=said, name="Jane"))
        await bridge.settled()
        run_sql(settings, two_days_ago)

    first_card, second, third = slack.parents(CHANNEL)
    assert [slack.chat(CHANNEL, card.ts) for card in (first_card, second, third)] == [
        ["hi"],
        ["me again"],
        ["and again"],
    ]

    def link(card) -> str:
        return f"https://fake.slack.com/archives/{CHANNEL}/p{card.ts.replace('.', '')}"

    [came_back] = [line for line in map(str, third.blocks) if "Came back" in line]
    assert "Came back: 2 earlier chats, the last <!date^" in came_back
    assert came_back.index(link(second)) < came_back.index(link(first_card))  # newest first


async def test_formatting_written_in_chatra_shows_as_slack_formatting(bridge, slack):
    text = "**Order 42** is [here](https://shop.example.org/o?id=42&x=1) `<tag>`"
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", text)]))
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert card.joined == [
        "*Order 42* is <https://shop.example.org/o?id=42&amp;x=1|here> (shop.example.org)"
        " `&lt;tag&gt;`"
    ]


async def test_a_visitor_cannot_ping_the_channel_or_plant_a_link_through_any_field(bridge, slack):
    planted = "|Your refund is ready> <!channel> <https://evil.example/login"
    said = [
        {
            "type": "client",
            "text": "[Your bank](https://evil.example/login) says hi",
            "createdAt": 1,
        },
        {"type": "client", "file": {"url": f"https://f.example/a.pdf{planted}", "name": "a.pdf"}},
    ]
    webhook = chat_event(
        "chatStarted",
        messages=said,
        name="Jane",
        chatStartUrl=f"https://shop.example/{planted}",
        chatStartTitle="Shop",
        chatId=f"c1{planted}",
    )
    await bridge.webhook(webhook)
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    shown = [str(card.blocks), card.text, *slack.chat(CHANNEL, card.ts)]
    for text in shown:
        assert "<!channel>" not in text and "<https://evil.example/login>" not in text
        assert "|Your refund is ready>" not in text
    assert "<https://evil.example/login|Your bank> (evil.example) says hi" in shown[2]
    assert "https://shop.example/%7CYour%20refund%20is%20ready%3E%20%3C!channel%3E" in shown[0]


async def test_a_visitor_with_enormous_details_still_gets_a_card_within_slacks_limits(
    bridge, slack
):
    """Visitors set their own name and custom data from the site: nothing they set can keep
    the chat out of Slack. Every field is cut to what Slack takes (the fake refuses more)."""
    huge = {
        "name": "N" * 500_000,
        "email": "e" * 100_000 + "@example.org",
        "chatStartUrl": "https://shop.example.org/" + "p" * 200_000,
        "chatStartTitle": "T" * 100_000,
        "city": "C" * 50_000,
    }
    said = [visitor_says("m1", "hello"), agent_says("m2", "hi", at=1_732_450_001_000)]
    event = chat_event("chatStarted", messages=said, **huge)
    event["agents"][0]["name"] = "A" * 50_000
    await bridge.webhook(event)
    await bridge.settled()

    [card] = slack.parents(CHANNEL)
    assert card.text.startswith("NNN") and len(card.text) < 4000
    assert "Open the chat in Chatra" in str(card.blocks)
    (visitor, said), (agent, answered) = card.lines
    assert said == "hello" and visitor.startswith("NNN") and answered == "hi"
    assert agent.startswith("AAA") and agent.endswith(" (Chatra)")
    assert len(visitor) <= 80 and len(agent) <= 80


async def test_a_visitor_who_calls_themselves_an_agent_is_still_shown_as_a_visitor(bridge, slack):
    name = "Sam\u200b (Chatra)\u202e"  # an invisible space and a right-to-left override
    card = await start_chat(bridge, slack, says="hi", name=name)
    assert card.lines == [("Sam (Chatra) (visitor)", "hi")]
    assert card.text.startswith("Sam (Chatra): hi")
