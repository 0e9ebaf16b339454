"""What a look on Slack for a turn's posts found (by the keys in their metadata), read as what
to record (pure): the card it found and what the card opens with, the messages it shows."""

from dataclasses import dataclass, field

from bot.core.chats.chat import CardState, OpeningLine
from bot.core.posting import post_keys
from bot.core.posting.batches import Post, turn_of
from bot.core.slack_ui.mirrored import Mirrored, opening
from storage import Thread
from storage.outbox import Due


def turn_keys(due: Due, turn: str) -> list[str]:
    """Every key a post of the turn may carry: its messages' (every piece) and notices'."""
    keys = []
    for message in due.messages:
        if turn_of(message.thread_id) == turn:
            pieces = Mirrored.model_validate_json(message.shown).posts()
            keys += [post_keys.chatra_message(message.key, n) for n in range(len(pieces))]
    keys += [n.key for n in due.notices if turn_of(n.thread_id or -1) == turn]
    return keys


@dataclass
class Found:
    chat: Thread | None = None  # whose card was found, to record with `opening`
    card_ts: str = ""
    opening: list[OpeningLine] = field(default_factory=list)
    done: list[tuple[int, str]] = field(default_factory=list)  # messages whose posts are all made
    made: dict[int, list[str]] = field(default_factory=dict)  # message -> the ts of those made


def read_found(due: Due, post: Post, found: dict[str, str]) -> Found:
    """What `found` (key -> ts) says was made of `post`'s turn."""
    chats = due.chats.values()
    chat = post.card or next((c for c in chats if turn_of(c.id) == post.turn), None)
    if post.card:  # a card that may be on Slack
        card_ts = found.get(post_keys.card(post.card.id))
    else:  # one on Slack: an append may have opened it with more
        card_ts = chat.thread_ts if chat else None
    read = Found()
    on_card = []  # what the card shows
    for message in due.messages:
        shown = Mirrored.model_validate_json(message.shown)
        keys = [post_keys.chatra_message(message.key, n) for n in range(len(shown.posts()))]
        ts = [found[key] for key in keys if key in found]
        if card_ts is not None and ts[:1] == [card_ts]:
            on_card.append(shown)  # whole, pictures included
            read.done.append((message.id, card_ts))
        elif ts:
            read.made[message.id] = ts
            if len(ts) == len(keys):
                read.done.append((message.id, ts[0]))
    if chat is not None and card_ts is not None and (post.card or on_card):
        before = [] if post.card else CardState.of(chat.card).opening
        read.chat, read.card_ts = chat, card_ts
        read.opening = [*before, *opening(on_card)[0]]
    return read
