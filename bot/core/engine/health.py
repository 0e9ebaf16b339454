"""What of the outside world is down right now, since when and why, and what waited on it: kept
in the database, so every bridge on it sees the same outages and the channel is told once.

The clients report each call's outcome; the worker and intake report the events that had to
wait. Only a change is written (a service going down, coming back); what another bridge saw is
read at most every `refresh` seconds. When an outage ends, the leader tells the channel once how
long it lasted and how much it delayed. Bookkeeping that fails never fails the call it is about.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from storage import Outages, PastOutage

log = logging.getLogger(__name__)

# What each source of events needs to be carried out: a Chatra event is posted to Slack, a Slack
# reply is sent through Membrane.
NEEDS = {"chatra": "slack", "slack": "membrane"}
T = TypeVar("T")


@dataclass
class Outage:
    service: str  # "slack" | "membrane", or the channel that refuses the bot
    reason: str
    since: float


class Health:
    def __init__(
        self,
        outages: Outages | None = None,  # None: this process alone (the command line)
        clock: Callable[[], float] = time.time,
        refresh: float = 5.0,
    ) -> None:
        self._outages, self._clock, self._refresh_every = outages, clock, refresh
        self._down: dict[str, Outage] = {}
        self._read_at = float("-inf")
        self._refusing: dict[str, Outage] = {}  # channel -> since when it refuses the bot
        self._refreshing: asyncio.Future[None] | None = None

    async def failed(self, service: str, reason: str) -> None:
        """A call to `service` failed in a way that waiting will mend."""
        await self._refresh()
        outage = self._down.get(service)
        if outage is not None:
            outage.reason = reason
            return
        since, outages = self._clock(), self._outages
        if outages is not None:
            since = await self._keep(outages.begin(service, reason, since), since)
        self._down[service] = Outage(service, reason, since)

    async def worked(self, service: str) -> None:
        """`service` answered: whatever outage it had is over (whoever saw it begin)."""
        await self._refresh()
        outages = self._outages
        if self._down.pop(service, None) is not None and outages is not None:
            await self._keep(outages.end(service, self._clock()), None)

    async def waited(self, what: int | str, source: str | None = None) -> None:
        """An event (by id) or a post (by key) had to wait: on what its source needs, or (None)
        on whatever is down."""
        outages = self._outages
        if outages is None:
            return
        for outage in list(self._down.values()):
            if source is None or NEEDS.get(source) == outage.service:
                await self._keep(outages.waited(outage.service, outage.since, str(what)), None)

    def channel_refused(self, channel: str, reason: str) -> bool:
        """Slack refuses the bot in `channel` (gone, archived, not a member): that channel's
        problem alone, never Slack being down. True when it is news."""
        known = self._refusing.get(channel)
        if known is not None and known.reason == reason:
            return False
        self._refusing[channel] = Outage(channel, reason, self._clock())
        return True

    def channel_works(self, channel: str) -> None:
        """A post in `channel` went through: whatever it refused is mended."""
        self._refusing.pop(channel, None)

    def refusing_channels(self) -> dict[str, Outage]:
        """The channels that refuse the bot, as this bridge last found them."""
        return dict(self._refusing)

    def down(self) -> dict[str, Outage]:
        """What is down, as this bridge last knew it (no wait: /healthz answers at once); what
        other bridges saw is read in the background when it is due."""
        due = time.monotonic() - self._read_at >= self._refresh_every
        idle = self._refreshing is None or self._refreshing.done()
        if self._outages is not None and due and idle:
            self._refreshing = asyncio.ensure_future(self._refresh())
        return dict(self._down)

    async def ended(self) -> list[PastOutage]:
        """Outages over that the channel was not told of; `told` once it is."""
        return await self._outages.untold() if self._outages is not None else []

    async def told(self, outage: PastOutage) -> None:
        if self._outages is not None:
            await self._outages.told(outage.service, outage.since)

    async def _refresh(self) -> None:
        """What is down as every bridge saw it, read at most every `refresh` seconds."""
        now = time.monotonic()
        if self._outages is None or now - self._read_at < self._refresh_every:
            return
        self._read_at = now
        current = await self._keep(self._outages.current(), None)
        if current is not None:
            self._down = {
                service: self._down.get(service) or Outage(service, reason, since)
                for service, (since, reason) in current.items()
            }

    @staticmethod
    async def _keep(write: Awaitable[T], otherwise: T) -> T:
        try:
            return await write
        except Exception as error:  # the database is down too: this bridge keeps its own view
            log.debug("outage not recorded: %s", error)
            return otherwise
