"""Processes stored events: in order within a conversation, conversations side by side.

Each conversation (a Chatra client) has a chain of tasks: an event starts when the one before it
in the same conversation has finished, so a slow or failing chat holds up only itself. Events left
pending by a stop or a crash are picked up again on the next start; events made pending again
while running (`chatra-bridge db retry`) by a rescan every `rescan_interval` seconds.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from storage import Inbox, InboxEvent

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        inbox: Inbox,
        handle: Callable[[InboxEvent], Awaitable[None]],
        arrived: asyncio.Event,
        *,
        max_attempts: int = 6,
        base_delay: float = 1.0,
        poll_interval: float = 1.0,
        max_in_flight: int = 1000,
        failed: Callable[[str], None] = lambda kind: None,
        rescan_interval: float = 30.0,
    ) -> None:
        self._rescan_interval = rescan_interval
        self._next_rescan = 0.0
        self._dispatched: set[int] = set()  # ids of the events in flight
        self._failed = failed  # told "event_retry" or "event_failed", for the metrics
        self._inbox = inbox
        self._handle = handle
        self._arrived = arrived
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._poll_interval = poll_interval
        self._max_in_flight = max_in_flight  # bounds memory under a burst: the rest waits in SQLite
        self._in_flight = 0
        self._last_id = 0
        self._tails: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Dispatch pending events until cancelled."""
        try:
            while True:
                self._arrived.clear()
                for event in self._next_events():
                    self._chain(event)
                await self._next_arrival()
        finally:
            for task in list(self._tails.values()):
                task.cancel()

    def _next_events(self) -> list[InboxEvent]:
        """Pending events not yet dispatched: the new ones, and now and then all of them."""
        room = max(self._max_in_flight - self._in_flight, 0)
        after, limit = self._last_id, room
        now = asyncio.get_running_loop().time()
        if now >= self._next_rescan:
            self._next_rescan = now + self._rescan_interval
            after, limit = 0, room + len(self._dispatched)
        events = [e for e in self._inbox.pending(after, limit) if e.id not in self._dispatched]
        self._last_id = max([self._last_id, *(e.id for e in events)])
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
        while self._tails:
            await asyncio.wait(list(self._tails.values()))

    def _chain(self, event: InboxEvent) -> None:
        previous = self._tails.get(event.conversation)
        task = asyncio.create_task(self._after(previous, event))
        self._tails[event.conversation] = task
        self._in_flight += 1
        self._dispatched.add(event.id)
        task.add_done_callback(lambda done: self._forget(event, done))

    def _forget(self, event: InboxEvent, task: asyncio.Task[None]) -> None:
        conversation = event.conversation
        self._in_flight -= 1
        self._dispatched.discard(event.id)
        self._arrived.set()  # room for more
        if self._tails.get(conversation) is task:
            del self._tails[conversation]

    async def _after(self, previous: asyncio.Task[None] | None, event: InboxEvent) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        await self._process(event)

    async def _process(self, event: InboxEvent) -> None:
        attempt = event.attempts
        while True:
            attempt += 1
            try:
                await self._handle(event)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                if attempt >= self._max_attempts:
                    log.error(
                        "event %s (chat %s) failed for good after %d tries: %s",
                        event.id,
                        event.conversation,
                        attempt,
                        reason,
                        extra={"chat": event.conversation},
                    )
                    self._inbox.mark_failed(event.id, reason)
                    self._failed("event_failed")
                    return
                delay = min(self._base_delay * 2 ** (attempt - 1), 60.0)
                log.warning(
                    "event %s (chat %s) failed (%s), try %d again in %.1fs",
                    event.id,
                    event.conversation,
                    reason,
                    attempt + 1,
                    delay,
                    extra={"chat": event.conversation},
                )
                self._inbox.record_attempt(event.id, reason)
                self._failed("event_retry")
                await asyncio.sleep(delay)
            else:
                self._inbox.mark_done(event.id)
                return
