"""What a new chat's card opens with: the messages of the webhook that starts it, from the
first, each under its author and time, so the channel shows what visitors ask, one post per new
chat. A message too long for the card shows its beginning there and goes whole into the thread;
the card stops there, as it does at a system notice: the thread goes on in order."""

from collections.abc import Callable

from bot.core.slack_ui.card import OpeningLine
from bot.core.slack_ui.views import mirrored_messages
from bot.core.wire.chatra import ChatraMessage, ChatraWebhook
from bot.core.wire.text import chatra_to_slack, shorten, without_control_characters
from storage import Message

OPENING_MOST = 10  # messages a card opens with, at most (two blocks each: Slack takes 50)
OPENING_TEXT = 300  # characters of a message shown whole in the card; a longer one continues


def author_and_time(
    message: ChatraMessage, webhook: ChatraWebhook, clock: Callable[[], float]
) -> tuple[str, float]:
    """Who wrote a Chatra message, as the thread names them, and when (seconds)."""
    if message.type == "agent":
        author = webhook.agent_name(message.agentId)
    else:
        author = webhook.client.display_name()
    return author, message.createdAt / 1000 if message.createdAt else clock()


def opening(
    unposted: list[tuple[ChatraMessage, Message]],
    webhook: ChatraWebhook,
    clock: Callable[[], float],
    most: int = OPENING_MOST,
) -> tuple[list[OpeningLine], list[Message]]:
    """The lines a new card opens with (`most` at most), and the records of the messages it
    shows whole (posted with the card: not repeated in the thread)."""
    lines: list[OpeningLine] = []
    whole: list[Message] = []
    for message, record in unposted:
        if message.type not in ("client", "agent") or len(lines) == most:
            break
        author, at = author_and_time(message, webhook, clock)
        pieces = mirrored_messages(message, author=author, is_agent=message.type == "agent")
        images = [block for p in pieces[1:] for block in p.blocks or [] if block["type"] == "image"]
        long = len(message.body) > OPENING_TEXT or len(pieces) - len(images) > 1
        if long:
            beginning = shorten(without_control_characters(message.body), OPENING_TEXT)
            text, images = chatra_to_slack(beginning), []
        else:
            text = pieces[0].text
        lines.append(
            OpeningLine(
                author=pieces[0].username or author, at=at, text=text, images=images, continued=long
            )
        )
        if long:
            break
        whole.append(record)
    return lines, whole
