"""Posts to each Slack channel at the pace Slack allows: about one a second, with short bursts.

Everything the bridge posts waits here for its channel's next slot. The slot goes to the thread
that has waited longest for one (since its oldest waiting post came, or since its last slot if
later): threads take turns, so a new chat's card or a quiet chat is never starved by a busy one.
When several of a thread's Chatra messages wait, they go out together as one post: under a
backlog the queue shrinks instead of growing, and when the channel keeps up each message is
still a post of its own. A failure worth waiting out (Slack down, rate limited) is
waited out here, the waiting posts keeping their places, so a thread's order always holds.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter

from bot.core.blocks import SlackMessage
from bot.core.worker import Judge, backoff

log = logging.getLogger(__name__)
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
    queued_at: float = field(default_factory=time.monotonic)


# Makes one post of a batch (one thread's, oldest first); returns the ts of each key.
Deliver = Callable[[str, list[Queued]], Awaitable[dict[str, str]]]


class PostQueue:
    def __init__(
        self,
        deliver: Deliver,
        *,
        burst: int,
        per_second: float,
        judge: Judge,
        waited: Callable[[str], None] = lambda key: None,
    ) -> None:
        self._deliver = deliver
        self._judge = judge
        self._waited = waited  # told of each post that waits out a failure
        self._burst, self._per_second = burst, per_second
        self._channels: dict[str, _Channel] = {}

    @property
    def waiting(self) -> int:
        """Posts waiting for their slot."""
        return sum(len(channel.waiting) for channel in self._channels.values())

    @property
    def held(self) -> int:
        """Posts waiting out a failure (Slack down, say)."""
        return sum(channel.held for channel in self._channels.values())

    def submit(
        self,
        key: str,
        channel: str,
        message: SlackMessage,
        thread_ts: str | None = None,
        at: float | None = None,
    ) -> asyncio.Future[str]:
        """Queue a post; the future gives its ts, or the error that can never be waited out. A
        key already waiting (a transcript repeating a message not yet posted) is not queued
        twice. Whoever stops waiting for the future does not take the post out of the queue."""
        if channel not in self._channels:
            pacer = AsyncLimiter(self._burst, self._burst / self._per_second)
            self._channels[channel] = _Channel(
                channel, pacer, self._deliver, self._judge, self._waited
            )
        return asyncio.shield(self._channels[channel].add(key, message, thread_ts, at))

    def close(self) -> None:
        """Stop posting: what still waits is carried out again from its stored event."""
        for channel in self._channels.values():
            channel.close()


class _Channel:
    """One channel's waiting posts and its pace. A thread's posts go out one batch at a time, in
    order; threads side by side, so a stalled or failing one holds up only itself."""

    def __init__(
        self,
        name: str,
        pacer: AsyncLimiter,
        deliver: Deliver,
        judge: Judge,
        waited: Callable[[str], None],
    ) -> None:
        self._name, self._pacer, self._deliver, self._judge = name, pacer, deliver, judge
        self._waited = waited
        self.waiting: list[Queued] = []  # oldest first; a post leaves once done with
        self._busy: set[str] = set()  # threads with a post in flight
        self._held: dict[str, float] = {}  # thread -> when to try again after a failure
        self._last_slot: dict[str, float] = {}  # thread -> when it last got one, while it waits
        self._failures: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._serving: asyncio.Task[None] | None = None

    @property
    def held(self) -> int:
        return sum(1 for item in self.waiting if _thread(item) in self._held)

    def add(
        self, key: str, message: SlackMessage, thread_ts: str | None, at: float | None
    ) -> asyncio.Future[str]:
        same = next((item for item in self.waiting if item.key == key), None)
        if same is None:
            same = Queued(key, thread_ts, message, at, asyncio.get_running_loop().create_future())
            self.waiting.append(same)
        self._wake.set()
        if self._serving is None or self._serving.done():
            self._serving = asyncio.create_task(self._serve())
        return same.done

    def close(self) -> None:
        for task in [*self._tasks, *([self._serving] if self._serving else [])]:
            task.cancel()
        for item in self.waiting:
            item.done.cancel()
        self.waiting.clear()

    async def _serve(self) -> None:
        """Give each slot to the oldest post whose thread may post now, until none waits."""
        while self.waiting:
            if not self._ready():
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._next_hold_ends()):
                        await self._wake.wait()
                continue
            backlog = not self._pacer.has_capacity()  # the channel is not keeping up: join
            await self._pacer.acquire()
            ready = self._ready()
            if not ready:
                continue
            batch = _next(ready, self._turn(ready), join=backlog)
            thread = _thread(batch[0])
            self._busy.add(thread)
            self._last_slot[thread] = time.monotonic()
            task = asyncio.create_task(self._post(thread, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _ready(self) -> list[Queued]:
        now = time.monotonic()
        return [
            item
            for item in self.waiting
            if _thread(item) not in self._busy and self._held.get(_thread(item), 0) <= now
        ]

    def _turn(self, ready: list[Queued]) -> Queued:
        """The first ready post of the thread that has waited longest for a slot."""
        firsts: dict[str, Queued] = {}
        for item in ready:
            firsts.setdefault(_thread(item), item)
        return min(
            firsts.values(),
            key=lambda item: max(item.queued_at, self._last_slot.get(_thread(item), 0.0)),
        )

    def _next_hold_ends(self) -> float | None:
        now = time.monotonic()
        return min((until - now for until in self._held.values() if until > now), default=None)

    async def _post(self, thread: str, batch: list[Queued]) -> None:
        try:
            posted = await self._deliver(self._name, batch)
        except Exception as error:
            if self._judge(error) is not True:
                self._settle(batch, error)
                return
            failures = self._failures[thread] = self._failures.get(thread, 0) + 1
            delay = backoff(failures)
            log.warning("posting to %s failed (%s): again in %.1fs", self._name, error, delay)
            self._held[thread] = time.monotonic() + delay  # the batch keeps its place
            for item in batch:
                self._waited(item.key)
        else:
            self._failures.pop(thread, None)
            self._held.pop(thread, None)
            self._settle(batch, posted)
        finally:
            self._busy.discard(thread)
            if not any(_thread(item) == thread for item in self.waiting):
                self._last_slot.pop(thread, None)
            self._wake.set()

    def _settle(self, batch: list[Queued], outcome: dict[str, str] | Exception) -> None:
        """The batch is done with: each post's ts, or the error that stopped it."""
        for item in batch:
            self.waiting.remove(item)
            if item.done.done():
                continue
            if isinstance(outcome, Exception):
                item.done.set_exception(outcome)
            else:
                item.done.set_result(outcome[item.key])


def _next(ready: list[Queued], first: Queued, *, join: bool) -> list[Queued]:
    """`first`; when joining, with the Chatra messages of its thread that wait behind it (in
    order, up to a post's worth)."""
    if not join or not _joinable(first):
        return [first]
    batch, size = [], 0
    for item in ready:
        if item.thread_ts != first.thread_ts:
            continue
        if not _joinable(item):
            break  # keeps its place: the thread's order holds
        size += len(item.message.text)
        if batch and (len(batch) == MOST_JOINED or size > JOINED_TEXT):
            break
        batch.append(item)
    return batch


def _thread(item: Queued) -> str:
    """What must stay in order: a thread's replies; a top-level post stands alone."""
    return item.thread_ts or f"key:{item.key}"


def _joinable(item: Queued) -> bool:
    message = item.message
    return (
        item.at is not None
        and item.thread_ts is not None
        and message.blocks is None
        and len(message.text) <= JOINABLE_TEXT
    )
