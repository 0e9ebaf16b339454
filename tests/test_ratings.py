"""A low rating reaches the team: one line in the chat's thread, told to whoever has the chat
(or broadcast to the channel when no one has it), once however often the transcript comes;
`/chatra stats` counts ratings and low ones."""

from tests.conftest import CHANNEL
from tests.helpers import button_on, chat_event, start_chat, visitor_says, wait_for


def transcript(client_id: str, name: str, rating, **more) -> dict:
    body = chat_event("chatTranscript", client_id, [visitor_says("", "hello?")], name=name)
    return body | {"rating": rating, **more}


def rating_lines(slack, thread_ts: str) -> list:
    return [r for r in slack.replies(CHANNEL, thread_ts) if "rated the chat" in r.text]


async def test_a_low_rating_is_said_once_in_its_thread_and_told_to_who_has_the_chat(app, slack):
    card = await start_chat(app, slack, messages=[visitor_says("", "hello?")], name="Jane")
    await app.click(button_on(card, "I'll take it"), message_ts=card.ts, user="U0AGENT02")
    await wait_for(lambda: "Taken by <@U0AGENT02>" in str(card.blocks))

    comment = "Too slow <!channel> =cmd|' /C calc'!A0"
    await app.webhook(transcript("client-1", "Jane", {"value": "bad", "comment": comment}))
    await app.webhook(transcript("client-1", "Jane", {"value": "bad", "comment": comment}, x=1))
    await app.settled()

    [line] = rating_lines(slack, card.ts)
    assert line.text == (
        ":small_red_triangle_down: Jane rated the chat *bad*:"
        " “Too slow &lt;!channel&gt; =cmd|' /C calc'!A0”"
    )
    assert not line.args.get("reply_broadcast")  # someone has the chat: they are told
    [dm] = slack.dms_to("U0AGENT02")
    assert (
        dm.text.startswith(":small_red_triangle_down: <https://")
        and "rated the chat *bad*" in dm.text
    )
    assert "Jane rated the chat" not in str(slack.dms_to("U0AGENT01"))


async def test_a_low_rating_of_a_chat_no_one_has_is_broadcast_and_stats_count_ratings(
    app, slack, clock
):
    for client_id, name, rating in (("client-j", "Jane", 2), ("client-b", "Bob", "good")):
        await start_chat(app, slack, client_id, messages=[visitor_says("", "hello?")], name=name)
        await app.webhook(transcript(client_id, name, rating, ratingComment=""))
    await app.settled()
    jane, bob = slack.parents(CHANNEL)
    [line] = rating_lines(slack, jane.ts)
    assert line.text == ":small_red_triangle_down: Jane rated the chat *2*, with no comment"
    assert line.args.get("reply_broadcast")  # no one has the chat: the channel sees it
    assert rating_lines(slack, bob.ts) == []  # "good" is no alert

    clock.advance(1)
    await app.slash_command("stats today")
    [answer] = await wait_for(lambda: slack.responses)
    assert "Ratings: 2 · low: 1" in answer["text"]
