"""What waits in a channel's queue, and which waiting posts may go out as one."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.slack_ui.blocks import SlackMessage

MOST_JOINED = 20  # Chatra messages in one post, at most: past it, the next slot takes the rest
JOINED_TEXT = 3500  # characters of text in one joined post, at most
JOINABLE_TEXT = 2900  # a longer message is a post of its own (a section holds 3,000)


@dataclass
class Queued:
    key: str
    thread_ts: str | None
    message: SlackMessage
    at: float | None  # a Chatra message's time: it may share a post with others of its thread
    done: asyncio.Future[str] = field(repr=False)
    in_doubt: bool = False  # it may be on Slack already: a try ended without an answer
    may_move: bool = False  # a refusal of its channel goes back to who posts it, not waited out
    then: "Then | None" = None  # run with its ts in the unit of work that records the post
    queued_at: float = field(default_factory=time.monotonic)


# Statements run on the database's thread with a post's ts, as it is recorded.
Then = Callable[[str], None]


def next_batch(
    ready: list[Queued],
    first: Queued,
    *,
    join: bool,
    room: tuple[int, int] = (MOST_JOINED, JOINED_TEXT),
) -> list[Queued]:
    """`first`; when joining, with the Chatra messages of its thread that wait behind it (in
    order, up to `room`: messages and characters; when appending, none may overflow it)."""
    if not join or not joinable(first):
        return [first]
    most, text = room
    batch: list[Queued] = []
    size = 0
    for item in ready:
        if item.thread_ts != first.thread_ts:
            continue
        if not joinable(item):
            break  # keeps its place: the thread's order holds
        size += len(item.message.text)
        if len(batch) == most or size > text:
            break
        batch.append(item)
    return batch


def authors(items: list[Queued]) -> set[str | None]:
    return {item.message.username for item in items}


def firsts(ready: list[Queued]) -> list[Queued]:
    """The first ready post of each thread."""
    first_of: dict[str, Queued] = {}
    for item in ready:
        first_of.setdefault(thread_of(item), item)
    return list(first_of.values())


def mark_in_doubt(batch: list[Queued]) -> None:
    """A try ended without a clear answer: Slack may show the batch, and is asked next time."""
    for item in batch:
        item.in_doubt = True


def thread_of(item: Queued) -> str:
    """What must stay in order: a thread's replies; a top-level post stands alone."""
    return item.thread_ts or f"key:{item.key}"


def joinable(item: Queued) -> bool:
    message = item.message
    return (
        item.at is not None
        and item.thread_ts is not None
        and message.blocks is None
        and len(message.text) <= JOINABLE_TEXT
    )
