"""A Chatra message as its chat's thread shows it: under its author's name and time, in as
many posts as a long text or its pictures need; joined with others of its thread in one post;
or at the top of a new chat's card. Pure: what to show is kept with the message (`Mirrored`),
so whoever posts it needs nothing else."""

from typing import Any

from pydantic import BaseModel

from bot.core.chats.chat import OpeningLine
from bot.core.slack_ui.blocks import SlackMessage, context, mrkdwn
from bot.core.slack_ui.views import said_by
from bot.core.wire.chatra import ChatraMessage
from bot.core.wire.text import (
    chatra_to_slack,
    cut,
    looks_like_an_agent,
    plain_to_slack,
    shorten,
    slack_link,
    split_text,
    without_control_characters,
)

VISITOR_ICON, AGENT_ICON, AUTOMATIC_ICON = ":bust_in_silhouette:", ":headphones:", ":robot_face:"
JOINED_ICON = ":speech_balloon:"  # a post joining visitor and agent messages
CONTEXT_LIMIT = 2900  # characters in a context element's text (Slack allows 3,000)
OPENING_MOST = 10  # messages a card opens with, at most (two blocks each: Slack takes 50)
OPENING_TEXT = 300  # characters of a message shown whole in the card; a longer one continues


class Mirrored(BaseModel):
    """A Chatra message, who wrote it as the thread names them, and when (seconds)."""

    message: ChatraMessage
    author: str
    at: float

    @property
    def said(self) -> bool:
        """Written by the visitor or an agent (anything else is a system notice)."""
        return self.message.type in ("client", "agent")

    def posts(self) -> list[SlackMessage]:
        return mirrored_messages(
            self.message, author=self.author, is_agent=self.message.type == "agent"
        )


def mirrored_messages(message: ChatraMessage, *, author: str, is_agent: bool) -> list[SlackMessage]:
    """A Chatra message as thread replies: who wrote it, then the words (escaped for Slack),
    in as many replies as a long text needs."""
    pieces = [
        chatra_to_slack(piece) for piece in split_text(without_control_characters(message.body))
    ]
    files = message.shown_files()
    for file in files:
        link = f":paperclip: {slack_link(file.url or '', cut(file.name or 'file', 200))}"
        pieces[-1] = f"{pieces[-1]}\n{link}" if pieces[-1] else link
    if message.type not in ("client", "agent"):  # a system notice: a quiet context line
        return [_context_line(f"{message.automatic}: {piece}") for piece in pieces]
    # The thread reads like the chat: each message under its author's name, and a visitor who
    # calls themselves "Sam (Chatra)" is not taken for an agent.
    icon = AGENT_ICON if is_agent else VISITOR_ICON
    if message.automatic:  # a trigger, a bot or a pushed message: never taken for an answer
        by = "" if author == "Chatra" else "Chatra, "
        author, icon = f"{author} ({by}{message.automatic})", AUTOMATIC_ICON
    elif is_agent:
        author = f"{author} (Chatra)"
    elif looks_like_an_agent(author):
        author = f"{author} (visitor)"
    as_author = {"username": author, "icon_emoji": icon}
    replies = [SlackMessage(text=piece, **as_author) for piece in pieces]
    for file in files:
        url = file.url or ""
        if file.is_image() and url.startswith("https://") and len(url) <= 3000:  # shown
            name = cut(file.name or "image", 200)
            picture = {"type": "image", "image_url": url, "alt_text": name}
            text = f"{plain_to_slack(author)} sent an image: {plain_to_slack(name)}"
            replies.append(SlackMessage(text=text, blocks=[picture], **as_author))
    return replies


def _context_line(text: str) -> SlackMessage:
    if len(text) > CONTEXT_LIMIT:  # too long for a context element: plain text instead
        return SlackMessage(text=text)
    return SlackMessage(text=text, blocks=[context(f"_{text}_")])


def opening(mirrored: list[Mirrored], most: int = OPENING_MOST) -> tuple[list[OpeningLine], int]:
    """The lines a new chat's card opens with (`most` at most), from the first of `mirrored`,
    and how many of them it shows whole (not repeated in the thread). A message too long for
    the card shows its beginning and stops it there, as a system notice does: the thread goes
    on in order."""
    lines: list[OpeningLine] = []
    for shown in mirrored:
        if not shown.said or len(lines) == most:
            break
        pieces = shown.posts()
        images = [block for p in pieces[1:] for block in p.blocks or [] if block["type"] == "image"]
        long = len(shown.message.body) > OPENING_TEXT or len(pieces) - len(images) > 1
        if long:
            beginning = shorten(without_control_characters(shown.message.body), OPENING_TEXT)
            text, images = chatra_to_slack(beginning), []
        else:
            text = pieces[0].text
        author = pieces[0].username or shown.author
        lines.append(
            OpeningLine(author=author, at=shown.at, text=text, images=images, continued=long)
        )
        if long:
            return lines, len(lines) - 1
    return lines, len(lines)


def joined_messages(pieces: list[tuple[SlackMessage, float]]) -> SlackMessage:
    """Chatra messages of one thread that waited for the same slot, as one post: each under its
    author and time (shown in the reader's own time zone), in order."""
    blocks: list[dict[str, Any]] = []
    for piece, at in pieces:
        blocks.append(said_by(piece.username or "", at))
        blocks.append({"type": "section", "text": mrkdwn(piece.text or " ")})
    first = pieces[0][0]
    one_author = all(piece.username == first.username for piece, _ in pieces)
    return SlackMessage(
        text="\n".join(f"{piece.username}: {piece.text}" for piece, _ in pieces),
        blocks=blocks,
        username=first.username if one_author else "Chatra",
        icon_emoji=first.icon_emoji if one_author else JOINED_ICON,
    )
