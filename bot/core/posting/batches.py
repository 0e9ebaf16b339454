"""What a channel's poster makes next, from what the channel is owed (pure): for each thread
(and each notice outside one) the next post, in order. A chat's card comes first and opens with
what of its chat is due; a thread's waiting messages go as one post while the channel is behind;
a long message or one with pictures goes as several posts, one at a time."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.core.chats.chat import CardState, OpeningLine
from bot.core.posting import post_keys
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.mirrored import OPENING_MOST, Mirrored, joined_messages, opening
from storage import Thread
from storage.outbox import Due, DueMessage, DueNotice

MOST_JOINED = 20  # Chatra messages in one post, at most: past it, the next slot takes the rest
JOINED_TEXT = 3500  # characters of text in one joined post, at most
JOINABLE_TEXT = 2900  # a longer message is a post of its own (a section holds 3,000)


@dataclass
class Piece:
    """A Chatra message's post (one of `of`, when it takes several), or one of several that
    wait together: what a joined post or an append shows of it."""

    due: DueMessage
    message: SlackMessage
    at: float
    n: int = 0
    of: int = 1

    @property
    def key(self) -> str:
        return post_keys.chatra_message(self.due.key, self.n)

    @property
    def joinable(self) -> bool:
        return self.of == 1 and not self.message.blocks and len(self.message.text) <= JOINABLE_TEXT


@dataclass
class Post:
    """A post to make, and what its record settles."""

    turn: str  # what keeps its order: a chat's thread, or a notice of its own
    thread_ts: str | None  # where: a thread, or (None) the channel
    message: SlackMessage
    pieces: list[Piece] = field(default_factory=list)  # the Chatra messages it shows
    card: Thread | None = None  # a chat's card: the chat's thread starts at its ts
    opening: list[OpeningLine] = field(default_factory=list)  # what the card opens with
    notice: DueNotice | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        card = (post_keys.card(self.card.id),) if self.card else ()
        notice = (self.notice.key,) if self.notice else ()
        return (*card, *notice, *(piece.key for piece in self.pieces))

    @property
    def joinable(self) -> bool:
        """Chatra messages alone, each short and plain: more may be appended to it."""
        return (
            bool(self.pieces)
            and all(piece.joinable for piece in self.pieces)
            and not (self.card or self.notice)
        )


def turn_of(thread_id: int) -> str:
    return f"chat:{thread_id}"


def pieces_of(due: DueMessage, made: Sequence[str] = ()) -> list[Piece]:
    """A due message's posts not yet made (`made`: the ts of those that are, in order)."""
    shown = Mirrored.model_validate_json(due.shown)
    posts = shown.posts()
    return [
        Piece(due, message, shown.at, n, len(posts))
        for n, message in enumerate(posts)
        if n >= len(made)
    ]


# Draws a chat's card, opening with the lines given.
CardMaker = Callable[[Thread, list[OpeningLine]], SlackMessage]


def next_posts(
    due: Due, made: dict[int, list[str]], *, behind: bool, card_for: CardMaker
) -> list[Post]:
    """The next post of each thread (and each notice outside a chat's thread), oldest first;
    `made`: the pieces of messages already on Slack, by message id."""
    by_chat: dict[int, list[DueMessage]] = {}
    for message in due.messages:
        by_chat.setdefault(message.thread_id, []).append(message)
    posts: list[Post] = []
    for chat in due.cards:  # its messages after it: in the thread it starts
        messages = by_chat.pop(chat.id, [])
        shown = [Mirrored.model_validate_json(message.shown) for message in messages]
        lines, whole = opening(shown)
        pieces = [
            Piece(message, said.posts()[0], said.at)
            for message, said in zip(messages[:whole], shown, strict=False)
        ]
        posts.append(Post(turn_of(chat.id), None, card_for(chat, lines), pieces, chat, lines))
    for thread_id, messages in by_chat.items():
        chat = due.chats.get(thread_id)
        if chat is None or chat.thread_ts is None:
            continue
        first = pieces_of(messages[0], made.get(messages[0].id, ()))
        batch = _joined(first[:1], messages[1:]) if behind else first[:1]
        message = batch[0].message if len(batch) == 1 else joined(batch)
        posts.append(Post(turn_of(thread_id), chat.thread_ts, message, batch))
    for notice in due.notices:
        if notice.thread_id is not None:
            chat = due.chats.get(notice.thread_id)
            if (
                chat is None
                or chat.thread_ts is None
                or any(post.turn == turn_of(notice.thread_id) for post in posts)
            ):
                continue  # after its card and its messages
            where, turn = chat.thread_ts, turn_of(notice.thread_id)
        else:
            where, turn = notice.thread_ts, f"notice:{notice.key}"
        message = SlackMessage(**json.loads(notice.body))
        posts.append(Post(turn, where, message, notice=notice))
    return _first_of_each_turn(posts)


def _joined(first: list[Piece], rest: list[DueMessage]) -> list[Piece]:
    """`first`, with the messages that wait behind it, while each can join and there is room."""
    if not first or not first[0].joinable:
        return first
    batch, size = list(first), len(first[0].message.text)
    for due in rest:
        [piece, *more] = pieces_of(due)
        size += len(piece.message.text)
        if more or not piece.joinable or len(batch) == MOST_JOINED or size > JOINED_TEXT:
            break
        batch.append(piece)
    return batch


def joined(pieces: list[Piece]) -> SlackMessage:
    """Chatra messages as one post, each under its author and time."""
    return joined_messages([(piece.message, piece.at) for piece in pieces])


def fits(shown: list[Piece], more: list[Piece]) -> list[Piece]:
    """What of `more` can be appended to a post showing `shown`: joinable, within the room, and
    under the same authors (an update keeps the name the post shows)."""
    if not all(piece.joinable for piece in more):
        return []
    room = MOST_JOINED - len(shown)
    text = JOINED_TEXT - sum(len(piece.message.text) for piece in shown)
    batch: list[Piece] = []
    for piece in more[:room]:
        text -= len(piece.message.text)
        if text < 0:
            break
        batch.append(piece)
    authors = {piece.message.username for piece in shown}
    if {piece.message.username for piece in batch} - authors:
        return []
    return batch


def onto(shown: list[Piece], post: Post) -> Post | None:
    """A thread's last post (showing `shown`) with what of `post` fits appended."""
    batch = fits(shown, post.pieces)
    every = [*shown, *batch]
    return Post(post.turn, post.thread_ts, joined(every), batch) if batch else None


def onto_card(chat: Thread, post: Post, card_for: CardMaker) -> Post | None:
    """A chat's card opening with what of `post` it has room for too."""
    before = CardState.of(chat.card).opening
    shown = [Mirrored.model_validate_json(piece.due.shown) for piece in post.pieces]
    lines, whole = opening(shown, OPENING_MOST - len(before))
    if not whole:
        return None
    every = [*before, *lines[:whole]]
    return Post(post.turn, None, card_for(chat, every), post.pieces[:whole], chat, every)


def _first_of_each_turn(posts: list[Post]) -> list[Post]:
    seen: set[str] = set()
    first = []
    for post in posts:
        if post.turn not in seen:
            seen.add(post.turn)
            first.append(post)
    return first
