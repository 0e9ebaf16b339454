"""What of the outside world is down right now, since when and why, and what waited on it.

The clients report each call's outcome; the worker and intake report the events that had to
wait. When an outage ends, the channel is told once how long it lasted and how much it delayed.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# What each source of events needs to be carried out: a Chatra event is posted to Slack, a Slack
# reply is sent through Membrane.
NEEDS = {"chatra": "slack", "slack": "membrane"}


@dataclass
class Outage:
    service: str  # "slack" | "membrane"
    reason: str
    since: float
    until: float | None = None
    delayed: set[int | str] = field(default_factory=set)  # events and posts that waited on it


class Health:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._down: dict[str, Outage] = {}
        self._over: list[Outage] = []  # ended, not yet told

    def failed(self, service: str, reason: str) -> None:
        """A call to `service` failed in a way that waiting will mend."""
        outage = self._down.get(service)
        if outage is None:
            self._down[service] = Outage(service, reason, self._clock())
        else:
            outage.reason = reason

    def worked(self, service: str) -> None:
        """`service` answered: whatever outage it had is over."""
        outage = self._down.pop(service, None)
        if outage is not None:
            outage.until = self._clock()
            self._over.append(outage)

    def waited(self, what: int | str, source: str | None = None) -> None:
        """An event (by id) or a post (by key) had to wait: on what its source needs, or (None)
        on whatever is down."""
        for outage in self._down.values():
            if source is None or NEEDS.get(source) == outage.service:
                outage.delayed.add(what)

    def down(self) -> dict[str, Outage]:
        return dict(self._down)

    def take_ended(self) -> list[Outage]:
        """Outages over since last asked; `untold` puts one back when telling it failed."""
        over, self._over = self._over, []
        return over

    def untold(self, outage: Outage) -> None:
        self._over.append(outage)
