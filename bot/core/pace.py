"""How fast posts may go: a budget (token bucket) per Slack channel, and one for the workspace's
`chat.update`s, kept in the database: every bridge on it takes from the same one, so that
together they stay within what Slack allows, and a bridge that restarts goes on from what it
used before (Slack counts a channel's posts whoever makes them)."""

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

    async def acquire(self) -> None:
        """Until a post may go; it is counted."""
        ...


# Makes the pace of a budget: its name, how many may go at once, how many more each second.
PaceMaker = Callable[[str, int, float], Pace]


class SharedPace:
    """A budget kept in the database: every bridge on it takes from the same one. Whether a post
    may go now is estimated from what the database said last (posts go only by `acquire`,
    which asks it), so that looking costs no round trip."""

    def __init__(self, pacing: Pacing, bucket: str, burst: int, per_second: float) -> None:
        self._pacing, self._bucket = pacing, bucket
        self._burst, self._per_second = burst, per_second
        self._tokens, self._at = float(burst), time.monotonic()  # as last known

    def has_capacity(self) -> bool:
        elapsed = time.monotonic() - self._at
        return min(self._burst, self._tokens + elapsed * self._per_second) >= 1

    async def acquire(self) -> None:
        pause = 0.1
        while True:
            try:
                taken, self._tokens = await self._pacing.take(
                    self._bucket, self._burst, self._per_second
                )
            except Exception as error:  # the database is down: wait it out, post nothing
                log.warning("cannot count a post against %s (%s): waiting", self._bucket, error)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            self._at = time.monotonic()
            if taken:
                return
            await asyncio.sleep((1 - self._tokens) / self._per_second)


def pace_maker(pacing: Pacing) -> PaceMaker:
    """Budgets kept by `pacing`."""
    return lambda bucket, burst, per_second: SharedPace(pacing, bucket, burst, per_second)
