"""Posts to each Slack channel at the pace Slack allows: about one a second, with short bursts.

Everything the bridge posts waits here for its channel's next slot. The slot goes to the thread
that has waited longest for one (since its oldest waiting post came, or since its last slot if
later): threads take turns, so a new chat's card or a quiet chat is never starved by a busy one.
When several of a thread's Chatra messages wait, they go out together as one post: under a
backlog the queue shrinks instead of growing, and when the channel keeps up each message is
still a post of its own. While the channel has no slot, a thread whose last post is a recent
one of the bridge's own Chatra messages gets the waiting ones appended to it with `chat.update`,
which Slack limits per workspace (Tier 3), not per channel. A failure worth waiting out (Slack
down, rate limited) is waited out here, the waiting posts keeping their places, so a thread's
order always holds.
"""

import asyncio
import contextlib
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.core.engine.worker import Judge, backoff
from bot.core.errors import ChannelRefused
from bot.core.posting.batches import (
    JOINED_TEXT,
    MOST_JOINED,
    Queued,
    Then,
    authors,
    firsts,
    joinable,
    mark_in_doubt,
    next_batch,
    thread_of,
)
from bot.core.posting.pace import Pace
from bot.core.slack_ui.blocks import SlackMessage

log = logging.getLogger(__name__)
APPEND_WITHIN = 60.0  # seconds a post stays open to appending: later, it has scrolled away
RECENT = 1000  # posts made lately whose key a channel remembers


# Makes one post of a batch (one thread's, oldest first); returns the ts of each key.
Deliver = Callable[[str, list[Queued]], Awaitable[dict[str, str]]]
# Appends a batch to the post (channel, ts) that shows the first list; returns each key's ts.
Append = Callable[[str, str, list[Queued], list[Queued]], Awaitable[dict[str, str]]]


@dataclass
class _Last:
    """A thread's last post, while more of its Chatra messages may be appended to it."""

    ts: str
    shown: list[Queued]
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class _Hooks:
    """What the queue calls on: to post, to append (within `updates`' budget), to judge."""

    deliver: Deliver
    judge: Judge
    waited: Callable[[str], Awaitable[None]]  # told of each post that waits out a failure
    append: Append | None
    updates: Pace | None


class PostQueue:
    def __init__(
        self,
        deliver: Deliver,
        *,
        pace: Callable[[str], Pace],
        judge: Judge,
        waited: Callable[[str], Awaitable[None]],
        append: Append | None = None,
        updates: Pace | None = None,
    ) -> None:
        """`pace` gives each channel's budget of posts; `updates`, that of appends."""
        self._hooks = _Hooks(deliver, judge, waited, append, updates)
        self._pace = pace
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
        in_doubt: bool = False,
        may_move: bool = False,
        then: Then | None = None,
    ) -> asyncio.Future[str]:
        """Queue a post; the future gives its ts, or the error that can never be waited out
        (with `may_move`, also ChannelRefused: the caller posts elsewhere). A key already
        waiting (a transcript repeating a message not yet posted) is not queued twice. Whoever
        stops waiting for the future does not take the post out of the queue."""
        if channel not in self._channels:
            self._channels[channel] = _Channel(channel, self._pace(channel), self._hooks)
        queued = self._channels[channel].add(
            Queued(key, thread_ts, message, at, _future(), in_doubt, may_move, then)
        )
        return asyncio.shield(queued)

    def revise(self, channel: str, key: str, message: SlackMessage) -> bool:
        """Make the post for `key` show `message` instead, if it still waits for its slot (not
        in flight, not possibly on Slack already); False when it is too late."""
        waiting = self._channels.get(channel)
        return waiting is not None and waiting.revise(key, message)

    def moved_on(self, channel: str, thread_ts: str) -> None:
        """Someone wrote in the thread: its last post is no longer the last, so nothing is
        appended to it any more."""
        if channel in self._channels:
            self._channels[channel].last.pop(thread_ts, None)

    def close(self) -> None:
        """Stop posting: what still waits is carried out again from its stored event."""
        for channel in self._channels.values():
            channel.close()


class _Channel:
    """One channel's waiting posts and its pace. A thread's posts go out one batch at a time, in
    order; threads side by side, so a stalled or failing one holds up only itself."""

    def __init__(self, name: str, pacer: Pace, hooks: _Hooks) -> None:
        self._name, self._pacer, self._hooks = name, pacer, hooks
        # thread -> its last post, open to appending; the oldest first, as they were made
        self.last: OrderedDict[str, _Last] = OrderedDict()
        self.waiting: list[Queued] = []  # oldest first; a post leaves once done with
        self._busy: set[str] = set()  # threads with a post in flight
        self._held: dict[str, float] = {}  # thread -> when to try again after a failure
        self._last_slot: dict[str, float] = {}  # thread -> when it last got one, while it waits
        self._failures: dict[str, int] = {}
        # key -> ts of the posts made lately: the same key again (a transcript repeating a
        # message whose post is made but not yet recorded as such) takes no slot
        self._made: OrderedDict[str, str] = OrderedDict()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._serving: asyncio.Task[None] | None = None

    @property
    def held(self) -> int:
        return sum(1 for item in self.waiting if thread_of(item) in self._held)

    def add(self, new: Queued) -> asyncio.Future[str]:
        if new.key in self._made:
            new.done.set_result(self._made[new.key])
            return new.done
        same = next((item for item in self.waiting if item.key == new.key), None)
        if same is None:
            same = new
            self.waiting.append(same)
        self._wake.set()
        if self._serving is None or self._serving.done():
            self._serving = asyncio.create_task(self._serve())
        return same.done

    def revise(self, key: str, message: SlackMessage) -> bool:
        item = next((item for item in self.waiting if item.key == key), None)
        if item is None or item.in_doubt or thread_of(item) in self._busy:
            return False
        item.message = message
        return True

    def close(self) -> None:
        for task in [*self._tasks, *([self._serving] if self._serving else [])]:
            task.cancel()
        for item in self.waiting:
            item.done.cancel()
        self.waiting.clear()

    async def _serve(self) -> None:
        """Give each slot to the thread whose turn it is, until none waits. Once the channel
        has had to wait for a slot it is behind: from then on, waiting messages are joined."""
        behind = False
        while self.waiting:
            ready = self._ready()
            if not ready:
                await self._nap(self._next_hold_ends())
                continue
            if not self._pacer.has_capacity():
                behind = True
                if self._append_one(ready):
                    await asyncio.sleep(0)  # the update takes its share of the budget first
                else:
                    await self._nap(0.1)  # a slot, or a message that can be appended
                continue
            if await self._pacer.acquire():  # the slot was waited for (another bridge took the
                behind, ready = True, self._ready()  # budget): what came meanwhile joins
            batch = next_batch(ready, self._turn(ready), join=behind)
            behind = False
            self._start(self._post, batch)

    async def _nap(self, longest: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(longest):
                await self._wake.wait()

    def _start(
        self, carry: Callable[[str, list[Queued]], Awaitable[None]], batch: list[Queued]
    ) -> None:
        thread = thread_of(batch[0])
        self._busy.add(thread)
        self._last_slot[thread] = time.monotonic()
        task = asyncio.create_task(carry(thread, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _append_one(self, ready: list[Queued]) -> bool:
        """Append the waiting messages of the thread whose turn it is, among those whose last
        post is open to it, if the update budget allows; False when none can be."""
        updates = self._hooks.updates
        if self._hooks.append is None or updates is None or not updates.has_capacity():
            return False
        self._forget_old()
        heads = firsts(ready)  # a thread whose next post cannot join keeps its order
        open_to_it = [item for item in heads if self._open(item.thread_ts) and joinable(item)]
        if not open_to_it:
            return False
        first = self._turn(open_to_it)
        shown = self.last[thread_of(first)].shown
        room = (MOST_JOINED - len(shown), JOINED_TEXT - sum(len(i.message.text) for i in shown))
        batch = next_batch(ready, first, join=True, room=room)
        if not batch or authors(shown) != authors([*shown, *batch]):
            return False  # the post shows under its author's name, which an update keeps
        last = self.last.pop(thread_of(first))  # taken while the update is in flight
        self._start(functools.partial(self._appended, last), batch)
        return True

    def _remember(self, thread: str, last: _Last) -> None:
        self._forget_old()
        self.last.pop(thread, None)
        self.last[thread] = last

    def _open(self, thread_ts: str | None) -> bool:
        """Whether the thread's last post may still take more."""
        last = self.last.get(thread_ts or "")
        return last is not None and time.monotonic() - last.at <= APPEND_WITHIN

    def _forget_old(self) -> None:
        """Posts too old to append to: dropped from the oldest on, so a channel that keeps up
        holds none for long (a few may wait behind a newer one: `_open` says they are old)."""
        now = time.monotonic()
        while self.last and now - next(iter(self.last.values())).at > APPEND_WITHIN:
            self.last.popitem(last=False)

    async def _appended(self, last: _Last, thread: str, batch: list[Queued]) -> None:
        append, updates = self._hooks.append, self._hooks.updates
        assert append is not None and updates is not None
        try:
            await updates.acquire()  # at once: there was capacity
            done = await append(self._name, last.ts, last.shown, batch)
        except Exception as error:  # the batch stays: it goes as a post of its own
            mark_in_doubt(batch)
            log.info("appending to %s/%s failed (%s): posting instead", self._name, last.ts, error)
        else:
            self._remember(thread, _Last(last.ts, [*last.shown, *batch], last.at))
            self._settle(batch, done)
        finally:
            self._busy.discard(thread)
            self._wake.set()

    def _ready(self) -> list[Queued]:
        now = time.monotonic()
        return [
            item
            for item in self.waiting
            if thread_of(item) not in self._busy and self._held.get(thread_of(item), 0) <= now
        ]

    def _turn(self, ready: list[Queued]) -> Queued:
        """The first ready post of the thread that has waited longest for a slot."""
        return min(
            firsts(ready),
            key=lambda item: max(item.queued_at, self._last_slot.get(thread_of(item), 0.0)),
        )

    def _next_hold_ends(self) -> float | None:
        now = time.monotonic()
        return min((until - now for until in self._held.values() if until > now), default=None)

    async def _post(self, thread: str, batch: list[Queued]) -> None:
        try:
            posted = await self._hooks.deliver(self._name, batch)
        except Exception as error:
            mark_in_doubt(batch)
            moves = isinstance(error, ChannelRefused) and all(item.may_move for item in batch)
            if moves or self._hooks.judge(error) is not True:
                self._settle(batch, error)
                return
            failures = self._failures[thread] = self._failures.get(thread, 0) + 1
            delay = backoff(failures)
            log.warning("posting to %s failed (%s): again in %.1fs", self._name, error, delay)
            self._held[thread] = time.monotonic() + delay  # the batch keeps its place
            for item in list(self.waiting):  # every post of the channel waits on it, not only
                await self._hooks.waited(item.key)  # the batch (counted once per outage)
        else:
            self._failures.pop(thread, None)
            self._held.pop(thread, None)
            self._settle(batch, posted)
            one_post = len({posted[item.key] for item in batch}) == 1
            if one_post and all(joinable(item) for item in batch):
                self._remember(thread, _Last(posted[batch[0].key], list(batch)))
            else:
                self.last.pop(thread, None)
        finally:
            self._busy.discard(thread)
            if not any(thread_of(item) == thread for item in self.waiting):
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
                self._made[item.key] = outcome[item.key]
                while len(self._made) > RECENT:
                    self._made.popitem(last=False)


def _future() -> asyncio.Future[str]:
    return asyncio.get_running_loop().create_future()
