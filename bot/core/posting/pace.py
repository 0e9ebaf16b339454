"""How fast posts may go: a budget (token bucket) per Slack channel, and one for the workspace's
`chat.update`s. Slack counts a channel's posts whoever makes them: bridges sharing a database
take from the same budget there (`SharedPace`); a bridge alone on its database counts in its
memory and keeps the count there, without waiting for the write (`LocalPace`), so that a
restart goes on from what it used before."""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from storage import Pacing

log = logging.getLogger(__name__)


class Pace(Protocol):
    def has_capacity(self) -> bool:
        """Whether a post may go right now."""
        ...

    async def acquire(self) -> bool:
        """Until a post may go; it is counted. True when the budget was spent, and the post
        waited for it."""
        ...


# Makes the pace of a budget: its name, how many may go at once, how many more each second.
PaceMaker = Callable[[str, int, float], Pace]


class SharedPace:
    """A budget kept in the database: every bridge on it takes from the same one. Whether a post
    may go now is estimated from what the database said last (posts go only by `acquire`,
    which asks it), so that looking costs no round trip. A big budget is taken a few posts at
    a time, so that posting does not wait on the database for each one."""

    def __init__(self, pacing: Pacing, bucket: str, burst: int, per_second: float) -> None:
        self._pacing, self._bucket = pacing, bucket
        self._burst, self._per_second = burst, per_second
        self._tokens, self._at = float(burst), time.monotonic()  # as last known
        self._taken = 0  # posts taken from the budget and not made yet
        self._most = max(1, min(burst // 8, 16))  # at Slack's own burst (4 or 5): one by one

    def has_capacity(self) -> bool:
        elapsed = time.monotonic() - self._at
        return self._taken > 0 or min(self._burst, self._tokens + elapsed * self._per_second) >= 1

    async def acquire(self) -> bool:
        if self._taken:
            self._taken -= 1
            return False
        pause, waited = 0.1, False
        while True:
            try:
                taken, self._tokens = await self._pacing.take(
                    self._bucket, self._burst, self._per_second, self._most
                )
            except Exception as error:  # the database is down: wait it out, post nothing
                log.warning("cannot count a post against %s (%s): waiting", self._bucket, error)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            self._at = time.monotonic()
            if taken:
                self._taken = taken - 1
                return waited
            waited = True
            await asyncio.sleep((1 - self._tokens) / self._per_second)


class LocalPace:
    """A budget counted in this bridge's memory, started from what the database kept of it,
    and kept there after each post (in the background: a post never waits for it)."""

    def __init__(self, pacing: Pacing, bucket: str, burst: int, per_second: float) -> None:
        self._pacing, self._bucket = pacing, bucket
        self._burst, self._per_second = burst, per_second
        self._tokens: float | None = None  # until read from the database
        self._at = 0.0  # seconds since the epoch: a restart goes on from the stored count
        self._keeping: asyncio.Task[None] | None = None
        self._kept = True

    def has_capacity(self) -> bool:
        return self._tokens is None or self._now_tokens() >= 1

    async def acquire(self) -> bool:
        if self._tokens is None:
            await self._read()
        waited = False
        while (tokens := self._now_tokens()) < 1:
            waited = True
            await asyncio.sleep((1 - tokens) / self._per_second)
        self._tokens, self._at = tokens - 1, time.time()
        self._keep()
        return waited

    def _now_tokens(self) -> float:
        elapsed = max(time.time() - self._at, 0.0)
        return min(self._burst, (self._tokens or 0.0) + elapsed * self._per_second)

    async def _read(self) -> None:
        try:
            stored = await self._pacing.stored(self._bucket)
        except Exception as error:  # the database is down: a full budget, as on a first start
            log.warning("cannot read the budget of %s (%s): starting full", self._bucket, error)
            stored = None
        if self._tokens is None:  # another post read it meanwhile
            self._tokens, self._at = (float(self._burst), 0.0) if stored is None else stored

    def _keep(self) -> None:
        self._kept = False
        if self._keeping is None or self._keeping.done():
            self._keeping = asyncio.ensure_future(self._write_behind())

    async def _write_behind(self) -> None:
        while not self._kept:
            self._kept = True
            try:
                await self._pacing.keep(self._bucket, self._tokens or 0.0, self._at)
            except Exception as error:  # counted in memory all the same
                log.debug("budget of %s not kept: %s", self._bucket, error)


def pace_maker(pacing: Pacing, *, shared: bool) -> PaceMaker:
    """Budgets kept by `pacing`: taken from the database itself when other bridges share it."""
    kind = SharedPace if shared else LocalPace
    return lambda bucket, burst, per_second: kind(pacing, bucket, burst, per_second)
