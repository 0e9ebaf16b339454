"""How fast posts may go: a budget (token bucket) of posts per Slack channel, a little under
Slack's ~1 a second with short bursts, and one of `chat.update`s, which Slack counts per
workspace. A channel's budget is counted by its poster (one at a time, whatever the number of
bridges: it holds the channel's lease) and kept with every post it records, so that a restart
or another bridge goes on from it."""

import asyncio
import time
from dataclasses import dataclass


@dataclass
class Budget:
    burst: int  # posts that may go at once
    per_second: float  # more each second
    tokens: float  # posts that could go at `at`
    at: float  # seconds since the epoch: when it was counted

    @classmethod
    def of(cls, burst: int, per_second: float, kept: tuple[float, float] | None) -> "Budget":
        """A budget as it was kept, or full."""
        tokens, at = kept if kept is not None else (float(burst), 0.0)
        return cls(burst, per_second, tokens, at)

    def left(self) -> float:
        """Posts that may go now (a count kept by a clock ahead of this one refills nothing)."""
        elapsed = max(time.time() - self.at, 0.0)
        return min(float(self.burst), self.tokens + elapsed * self.per_second)

    def has_capacity(self) -> bool:
        return self.left() >= 1

    def wait(self) -> float:
        """Seconds until a post may go (0: now)."""
        return max(1 - self.left(), 0.0) / self.per_second

    def take(self) -> None:
        """A post goes now: counted."""
        self.tokens, self.at = self.left() - 1, time.time()

    async def acquire(self) -> None:
        """Until a post may go; it is counted."""
        await asyncio.sleep(self.wait())
        self.take()
