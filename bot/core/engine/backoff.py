"""One backoff policy for every loop that waits something out (as kopf's error backoffs): named
delays, each doubling from a first pause to a longest, with jitter so that what waits does not
all come back at once."""

import random
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Backoff:
    first: float  # seconds before the second try
    longest: float  # seconds between tries, at most

    def delay(self, failures: int) -> float:
        """The pause after the `failures`-th failure in a row (1: the first)."""
        doubled = self.first * 2 ** min(max(failures, 1) - 1, 16)
        return min(doubled, self.longest) * random.uniform(0.5, 1)

    def from_(self, first: float) -> "Backoff":
        """The same, from another first pause (a setting, or a test's hundredth of a second)."""
        return replace(self, first=first)


# An event or a post waiting out Slack, Membrane or the database: an outage's end is noticed
# within a minute.
WORK = Backoff(first=1.0, longest=60.0)
# A Membrane action tried again within one run (MEMBRANE_RETRY_BASE_DELAY is its first pause).
ACTION = Backoff(first=0.5, longest=30.0)
# A connection kept open: Socket Mode, auth.test at start, PostgreSQL's LISTEN.
RECONNECT = Backoff(first=1.0, longest=30.0)
# An outcome reached outside, recorded however long the database takes.
RECORD = Backoff(first=0.1, longest=10.0)
