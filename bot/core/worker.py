"""Processes stored events: in order within a lane, lanes side by side.

Each chat has two lanes, one per direction (`conversation` in the inbox): an event starts when the
one before it in the same lane has finished, or has handed what is left of it to a queue that
keeps the order (a chat's posts, waiting for their channel's slot), so a slow or failing chat
holds up only itself, and an agent's answer never waits behind the chat's Slack posts. Each
direction also has its own budget of events in flight, so a backlog of one never starves the other.

A failure the outside world will get over (Slack or Membrane down, rate limited, a database
lock) is waited out for as long as it lasts, with capped backoff; `failed` is kept for what can
never succeed, and for errors of unknown kind after `max_attempts`. Events left pending by a stop
or a crash are picked up on the next start; events made pending again while running (`chatra-bridge
db retry`) by a rescan every `rescan_interval` seconds.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from storage import Inbox, InboxEvent

log = logging.getLogger(__name__)
SOURCES = ("chatra", "slack")
MAX_DELAY = 60.0  # seconds between tries, at most: an outage's end is noticed within a minute

# Judges a failure: True, worth waiting out; False, can never succeed; None, of unknown kind.
Judge = Callable[[BaseException], bool | None]


def backoff(attempt: int, base: float = 1.0) -> float:
    """Doubling from `base`, at most a minute, with jitter so what waits does not all come back
    at once."""
    return min(base * 2 ** min(attempt - 1, 16), MAX_DELAY) * random.uniform(0.5, 1)


def lane(client_id: str, source: str) -> str:
    """The lane an event of a chat is carried out in: one per direction."""
    return client_id if source == "chatra" else f"{client_id}:replies"


class Worker:
    def __init__(
        self,
        inbox: Inbox,
        handle: Callable[[InboxEvent], Awaitable[Awaitable[None] | None]],
        arrived: asyncio.Event,
        *,
        rescan_interval: float,
        judge: Judge = lambda error: None,
        max_attempts: int = 6,
        base_delay: float = 1.0,
        poll_interval: float = 1.0,
        max_in_flight: int = 1000,
        failed: Callable[[str], None] = lambda kind: None,
        waiting: Callable[[int], None] = lambda event_id: None,
        name_of: Callable[[str], str] = lambda lane: f"chat {lane}",
    ) -> None:
        self._name_of = name_of  # a lane as an operator finds the chat: its Slack thread
        self._inbox = inbox
        self._handle = handle
        self._arrived = arrived
        self._judge = judge
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._poll_interval = poll_interval
        self._max_in_flight = max_in_flight  # per direction; the rest waits in the database
        self._failed = failed  # told "event_retry" or "event_failed", for the metrics
        self._waiting = waiting  # told of each event waiting out a failure
        self._rescan_interval = rescan_interval
        self._next_rescan = 0.0
        self._last_id = dict.fromkeys(SOURCES, 0)
        self._dispatched: dict[int, str] = {}  # events in flight -> their source
        self._tails: dict[str, asyncio.Future[None]] = {}  # lane -> free for its next event
        self._tasks: set[asyncio.Task[None]] = set()  # events being carried out
        self.retrying: set[int] = set()  # events waiting to be tried again

    async def run(self) -> None:
        """Dispatch pending events until cancelled; no database error stops it."""
        try:
            while True:
                self._arrived.clear()
                try:
                    for event in self._next_events():
                        self._chain(event)
                except Exception as error:  # the database is locked or gone: try again soon
                    log.warning("cannot read the inbox (%s): trying again", error)
                await self._next_arrival()
        finally:
            for task in list(self._tasks):
                task.cancel()

    def _next_events(self) -> list[InboxEvent]:
        """Pending events not yet dispatched, per direction: the new ones, and now and then all."""
        now = asyncio.get_running_loop().time()
        rescan = now >= self._next_rescan
        if rescan:
            self._next_rescan = now + self._rescan_interval
        events = []
        for source in SOURCES:
            busy = sum(1 for s in self._dispatched.values() if s == source)
            room = max(self._max_in_flight - busy, 0)
            after, limit = (0, room + busy) if rescan else (self._last_id[source], room)
            found = self._inbox.pending(after, limit, source=source)
            fresh = [e for e in found if e.id not in self._dispatched]
            self._last_id[source] = max([self._last_id[source], *(e.id for e in fresh)])
            events += fresh
        return events

    async def _next_arrival(self) -> None:
        """Until an event arrives or the poll interval passes. Not `asyncio.wait_for`: on 3.11 it
        can swallow a cancellation that lands as the wait ends, and then a stop never ends."""
        arrival = asyncio.ensure_future(self._arrived.wait())
        try:
            await asyncio.wait([arrival], timeout=self._poll_interval)
        finally:
            arrival.cancel()

    async def drain(self) -> None:
        """Wait until every dispatched event has finished (for tests and a clean stop)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    def _chain(self, event: InboxEvent) -> None:
        previous = self._tails.get(event.conversation)
        free = asyncio.get_running_loop().create_future()  # the lane is free for the next event
        self._tails[event.conversation] = free
        task = asyncio.create_task(self._after(previous, free, event))
        self._tasks.add(task)
        self._dispatched[event.id] = event.source
        task.add_done_callback(lambda done: self._forget(event, free, done))

    def _forget(self, event: InboxEvent, free: asyncio.Future[None], task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._dispatched.pop(event.id, None)
        self.retrying.discard(event.id)
        self._arrived.set()  # room for more
        if self._tails.get(event.conversation) is free:
            del self._tails[event.conversation]

    async def _after(
        self, previous: asyncio.Future[None] | None, free: asyncio.Future[None], event: InboxEvent
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])
            await self._process(event, free)
        finally:
            if not free.done():
                free.set_result(None)

    async def _process(self, event: InboxEvent, free: asyncio.Future[None]) -> None:
        attempt = event.attempts
        while True:
            attempt += 1
            try:
                rest = await self._handle(event)
                if rest is not None:  # what is left keeps its order without holding the lane
                    if not free.done():
                        free.set_result(None)
                    await rest
            except asyncio.CancelledError:
                raise
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                worth_waiting = self._judged(error)
                if worth_waiting is False or (
                    worth_waiting is None and attempt >= self._max_attempts
                ):
                    self._give_up(event, attempt, reason)
                    await self._keep(self._inbox.mark_failed, event.id, reason)
                    self._failed("event_failed")
                    return
                delay = backoff(attempt, self._base_delay)
                log.warning(
                    "event %s (%s) failed (%s), try %d again in %.1fs",
                    event.id,
                    self._name_of(event.conversation),
                    reason,
                    attempt + 1,
                    delay,
                    extra={"chat": event.conversation},
                )
                self.retrying.add(event.id)
                self._waiting(event.id)
                self._failed("event_retry")
                await self._keep(self._inbox.record_attempt, event.id, reason)
                await asyncio.sleep(delay)
            else:
                await self._keep(self._inbox.mark_done, event.id)
                return

    def _judged(self, error: BaseException) -> bool | None:
        try:
            return self._judge(error)
        except Exception:  # a bug in judging must not strand the event
            log.exception("cannot judge %s", type(error).__name__)
            return None

    def _give_up(self, event: InboxEvent, attempt: int, reason: str) -> None:
        log.error(
            "event %s (%s) failed for good after %d tries: %s",
            event.id,
            self._name_of(event.conversation),
            attempt,
            reason,
            extra={"chat": event.conversation},
        )

    async def _keep(self, record: Callable[..., Any], *args: Any) -> None:
        """Record the event's progress, however long the database refuses: the event's lane waits
        meanwhile, so nothing behind it overtakes it."""
        pause = 0.1
        while True:
            try:
                record(*args)
                return
            except Exception as error:
                log.warning("cannot record event %s (%s): trying again", args[0], error)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 10.0)
