"""Processes stored events: in order within a lane, lanes side by side, across bridges.

Each chat has two lanes, one per direction (`conversation` in the inbox): an event starts when the
one before it in the same lane has finished, so a slow or failing chat holds up only itself, and
an agent's answer never waits behind the chat's Slack posts (those are rows, made by each
channel's poster). Each direction also has its own budget of events in flight, so a backlog of
one never starves the other.

A failure the outside world will get over (Slack or Membrane down, rate limited, a database
lock) is waited out for as long as it lasts, with capped backoff; `failed` is kept for what can
never succeed, and for errors of unknown kind after `max_attempts`. Events left pending by a stop
or a crash are picked up on the next start; events made pending again while running (`chatra-bridge
db retry`) by a rescan every `rescan_interval` seconds.

Several bridges may share the database: a bridge carries out a lane's events only while it holds
the lane's lease (`storage.Lanes`), renewed while it works on them and given up when it has none
left, so one chat's events go in order through one bridge at a time. A bridge that stops
answering loses its leases when they expire; whoever takes a lane over then treats its events as
possibly half done (`InboxEvent.taken_over`).
"""

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.core.engine.arrivals import Arrivals
from bot.core.engine.backoff import WORK, Backoff
from bot.core.engine.lanes import Lease, LeaseLost
from bot.core.engine.patience import however_long
from storage import Claimed, InboxEvent, Store

log = logging.getLogger(__name__)
SOURCES = ("chatra", "slack")
CLAIM_BATCH = 100  # lanes claimed at a time: bridges woken together share a burst

# Judges a failure: True, worth waiting out; False, can never succeed; None, of unknown kind.
Judge = Callable[[BaseException], bool | None]


async def _nothing(event_id: int) -> None:
    """Told of nothing."""


async def _chat(lane: str) -> str:
    return f"chat {lane}"


@dataclass(frozen=True)
class WorkerSettings:
    """How the worker goes about its work (the first three from Settings)."""

    holder: str  # this bridge, as the lanes it holds name it
    lease_seconds: float  # how long a lane is this bridge's without a word from it
    rescan_interval: float  # seconds between looks at the whole inbox (a safety net)
    retry: Backoff = WORK  # the pause before an event that failed is tried again
    max_attempts: int = 6  # tries of a failure of unknown kind before it is marked failed
    max_in_flight: int = 1000  # events in memory per direction; the rest wait in the database


@dataclass(frozen=True)
class WorkerHooks:
    """What the worker tells and asks about the events it carries out."""

    judge: Judge = lambda error: None  # whether a failure is worth waiting out
    failed: Callable[[str], None] = lambda kind: None  # "event_retry", "event_failed": metrics
    waiting: Callable[[int], Awaitable[None]] = _nothing  # an event waiting out a failure
    name_of: Callable[[str], Awaitable[str]] = _chat  # a lane as an operator finds the chat


class Worker:
    def __init__(
        self,
        store: Store,
        handle: Callable[[InboxEvent, Lease], Awaitable[bool]],
        arrivals: Arrivals,
        settings: WorkerSettings,
        hooks: WorkerHooks = WorkerHooks(),
    ) -> None:
        self._name_of = hooks.name_of
        self._db, self._inbox, self._lanes = store.db, store.inbox, store.lanes
        self._handle = handle
        self._arrivals = arrivals
        self._holder, self._lease = settings.holder, settings.lease_seconds
        self._judge = hooks.judge
        self._max_attempts = settings.max_attempts
        self._retry = settings.retry
        self._max_in_flight = settings.max_in_flight
        self._failed, self._waiting = hooks.failed, hooks.waiting
        self._rescan_interval = settings.rescan_interval
        self._next_rescan = self._next_heartbeat = 0.0
        self._held: set[str] = set()  # lanes this bridge holds the lease of
        self._renewed: dict[str, float] = {}  # lane -> when its lease was last renewed
        self._must_claim = True  # events may wait in lanes nobody holds
        self._suspect: dict[str, int] = {}  # lane taken over -> its events up to this id
        self._told: set[int] = set()  # events stored since the last look
        self._behind = set(SOURCES)  # sources whose pending events are all to be looked at
        self._dispatched: dict[int, InboxEvent] = {}  # events in flight
        self._flying = dict.fromkeys(SOURCES, 0)  # how many of them, by source
        # Events finished while a look was reading the inbox: it may have read them as pending.
        self._settled: set[int] = set()
        self._tails: dict[str, asyncio.Future[None]] = {}  # lane -> free for its next event
        self._tasks: set[asyncio.Task[None]] = set()  # events being carried out
        self.retrying: set[int] = set()  # events waiting to be tried again

    async def run(self) -> None:
        """Dispatch pending events until cancelled; no database error stops it. On the way
        out, the lanes' leases are given up, so another bridge takes over at once."""
        try:
            while True:
                told = self._arrivals.take()
                self._told |= told.ids
                self._must_claim |= told.unclaimed or told.everything
                for claimed, event_id in told.claims:
                    self._claimed([claimed], 0, event_id - 1)
                try:
                    await self._look(told.everything)
                except Exception as error:  # the database is locked or gone: try again soon
                    log.warning("cannot read the inbox (%s): trying again", error)
                await self._arrivals.wait(self._next_look())
        finally:
            for task in list(self._tasks):
                task.cancel()
            await self._let_go()

    async def _look(self, everything: bool) -> None:
        self._settled.clear()
        now = asyncio.get_running_loop().time()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self._lease / 4
            await self._heartbeat()
            # Another bridge may have stopped answering: its lanes are taken over this soon.
            self._must_claim |= self._db.shared
        if everything or now >= self._next_rescan:
            self._next_rescan = now + self._rescan_interval
            self._behind, self._must_claim = set(SOURCES), True
        for event in await self._next_events():
            self._chain(event)

    def _next_look(self) -> float:
        now = asyncio.get_running_loop().time()
        return max(min(self._next_heartbeat, self._next_rescan) - now, 0.01)

    async def _heartbeat(self) -> None:
        """Give up the lanes with nothing in flight for a while; renew the leases that no unit
        of work renewed lately (this bridge's posters' with them)."""
        now = asyncio.get_running_loop().time()
        busy = self._busy_lanes()
        idle = {lane for lane in self._held - busy if now - self._renewed[lane] > self._lease / 2}
        if idle:
            await self._lanes.release(self._holder, idle)
            self._held -= idle
        if all(now - self._renewed[lane] < self._lease / 4 for lane in self._held - idle):
            return
        kept = await self._lanes.renew(self._holder, self._lease)
        self._renewed.update(dict.fromkeys(self._held & kept, now))
        lost = self._held - kept
        if lost:
            log.warning("%d lanes were taken over by another bridge: %s", len(lost), sorted(lost))
        self._held &= kept
        self._renewed = {lane: self._renewed[lane] for lane in self._held}
        for lane in list(self._suspect):
            if lane not in self._held:
                del self._suspect[lane]

    async def _let_go(self) -> None:
        """Lanes with nothing in flight are released; the others expire now: their events may
        be half done, and whoever takes them knows it."""
        busy = self._busy_lanes() & self._held
        with contextlib.suppress(Exception):
            if self._held - busy:
                await self._lanes.release(self._holder, self._held - busy)
            if busy:
                await self._lanes.release(self._holder, busy, half_done=True)
        self._held.clear()

    def _busy_lanes(self) -> set[str]:
        return {event.conversation for event in self._dispatched.values()}

    async def _next_events(self) -> list[InboxEvent]:
        """Pending events not yet dispatched, per direction: those of lanes just claimed and
        those told of, or (behind) every one of the lanes held. One unit of work: the claim
        and every read it needs."""
        room = {s: max(self._max_in_flight - self._flying[s], 0) for s in SOURCES}
        if not any(room.values()):
            return []
        claim = min(CLAIM_BATCH, max(room.values()))
        told, self._told = self._told, set()
        with_room = {source for source in SOURCES if room[source]}
        self._behind |= set(SOURCES) - with_room
        behind, current = self._behind & with_room, with_room - self._behind  # before looking
        wanted = [(frozenset({source}), room[source] + self._flying[source]) for source in behind]
        current_limit = min((room[s] for s in current), default=0)

        must_claim, self._must_claim = self._must_claim, False

        def look() -> tuple[list[Claimed], int, list[tuple[frozenset[str], int, list]]]:
            claimed = self._lanes.claim.now(self._holder, self._lease, claim) if must_claim else []
            newest = self._inbox.last_id.now() if any(c.taken_over for c in claimed) else 0
            fresh = [c.lane for c in claimed]
            asks = [(sources, limit, (), ()) for sources, limit in wanted]
            if current and (told or fresh):  # one look for both directions
                asks.append((frozenset(current), current_limit, told, fresh))
            found = [
                (sources, limit, self._pending(sources, limit, ids, lanes))
                for sources, limit, ids, lanes in asks
            ]
            return claimed, newest, found

        kind = "write" if must_claim else "read"  # what intake took needs no claim
        claimed, newest, found = await self._db.run("Worker.look", look, kind)
        self._claimed(claimed, claim, newest)
        events: list[InboxEvent] = []
        for sources, limit, pending in found:
            if len(pending) < limit:
                self._behind -= sources
            else:  # a source whose events fill the limit is behind: all are looked at next
                self._behind |= sources
                self._arrivals.wake()
            events += pending
        gone = self._dispatched.keys() | self._settled  # in flight, or finished since the read
        return [self._as_found(e) for e in self._within(room, events, gone)]

    def _within(
        self, room: dict[str, int], events: list[InboxEvent], gone: set[int]
    ) -> list[InboxEvent]:
        """The events not in flight, up to each direction's room, in order: what was read for
        the events in flight may be others, of lanes claimed since (their ids are older)."""
        room, taken = dict(room), []
        for event in events:
            if event.id in gone:
                continue
            if room[event.source] == 0:  # the rest of this direction waits its turn, in order
                self._behind.add(event.source)
                continue
            room[event.source] -= 1
            taken.append(event)
        return taken

    def _pending(
        self, sources: frozenset[str], limit: int, ids: Iterable[int], lanes: Iterable[str]
    ) -> list[InboxEvent]:
        """On the database's thread: pending events of `sources` (one, or both) in the lanes
        held (of `ids` or `lanes` when given)."""
        source = next(iter(sources)) if len(sources) == 1 else None
        return self._inbox.pending.now(
            self._holder, limit=limit, source=source, ids=ids, lanes=lanes
        )

    def _claimed(self, claimed: list[Claimed], limit: int, newest: int) -> None:
        """Lanes newly held: free ones with pending events, and expired ones (by intake, or
        claimed by the worker)."""
        taken = [c.lane for c in claimed if c.taken_over]
        if taken:
            log.warning("took over %d lanes of a bridge that stopped answering", len(taken))
            self._suspect.update(dict.fromkeys(taken, newest))
        if limit and len(claimed) == limit:  # more may wait: claim again soon
            self._must_claim = True
            self._arrivals.wake()
        self._held.update(c.lane for c in claimed)
        now = asyncio.get_running_loop().time()
        self._renewed.update(dict.fromkeys((c.lane for c in claimed), now))

    def _as_found(self, event: InboxEvent) -> InboxEvent:
        if event.id <= self._suspect.get(event.conversation, 0):
            return dataclasses.replace(event, taken_over=True)
        return event

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
        self._dispatched[event.id] = event
        self._flying[event.source] += 1
        task.add_done_callback(lambda done: self._forget(event, free, done))

    def _forget(self, event: InboxEvent, free: asyncio.Future[None], task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if event.conversation in self._held:  # its units renewed the lease
            self._renewed[event.conversation] = asyncio.get_running_loop().time()
        full = self._flying[event.source] >= self._max_in_flight
        self._flying[event.source] -= 1
        self._dispatched.pop(event.id, None)
        self._settled.add(event.id)
        self.retrying.discard(event.id)
        if full or self._behind:  # room for more of what waits in the database
            self._arrivals.wake()
        if self._tails.get(event.conversation) is free:
            del self._tails[event.conversation]

    async def _after(
        self, previous: asyncio.Future[None] | None, free: asyncio.Future[None], event: InboxEvent
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])
            await self._process(event)
        finally:
            free.set_result(None)

    async def _process(self, event: InboxEvent) -> None:
        """Carry the event out, waiting out what will pass; `handle` says whether it recorded
        the event done itself (in the unit that carried it out). Ends when its lane was taken
        over: the bridge that took it carries the event out."""
        lease = Lease(self._lanes, event.conversation, self._holder, self._lease)
        try:
            await self._attempts(event, lease)
        except LeaseLost:
            log.warning(
                "event %s: its lane %s was taken over by another bridge, which carries it out",
                event.id,
                event.conversation,
            )
            self._held.discard(event.conversation)

    async def _attempts(self, event: InboxEvent, lease: Lease) -> None:
        attempt = event.attempts
        while True:
            attempt += 1
            try:
                settled = await self._handle(event, lease)
            except (asyncio.CancelledError, LeaseLost):
                raise
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                worth_waiting = self._judged(error)
                if worth_waiting is False or (
                    worth_waiting is None and attempt >= self._max_attempts
                ):
                    log.error(
                        "event %s (%s) failed for good after %d tries: %s",
                        *(event.id, await self._name_of(event.conversation), attempt, reason),
                        extra={"chat": event.conversation},
                    )
                    await self._keep(lease, self._inbox.mark_failed, event.id, reason)
                    self._failed("event_failed")
                    return
                delay = self._retry.delay(attempt)
                log.warning(
                    "event %s (%s) failed (%s), try %d again in %.1fs",
                    event.id,
                    await self._name_of(event.conversation),
                    reason,
                    attempt + 1,
                    delay,
                    extra={"chat": event.conversation},
                )
                self.retrying.add(event.id)
                await self._waiting(event.id)
                self._failed("event_retry")
                await self._keep(lease, self._inbox.record_attempt, event.id, reason)
                await asyncio.sleep(delay)
            else:
                if not settled:
                    await self._keep(lease, self._inbox.mark_done, event.id)
                return

    def _judged(self, error: BaseException) -> bool | None:
        try:
            return self._judge(error)
        except Exception:  # a bug in judging must not strand the event
            log.exception("cannot judge %s", type(error).__name__)
            return None

    async def _keep(self, lease: Lease, record: Any, *args: Any) -> None:
        """Record the event's progress (a repository's unit, run here with its lane's lease
        renewed: LeaseLost when it was taken over), however long the database refuses: the
        event's lane waits meanwhile, so nothing behind it overtakes it."""

        def keep() -> bool:
            if not lease.lanes.fence.now(lease.lane, lease.holder, lease.ttl):
                return False
            record.now(*args)
            return True

        if not await however_long(
            lambda: self._db.run(record.name, keep, "write"), f"event {args[0]}"
        ):
            raise LeaseLost(lease.lane)
