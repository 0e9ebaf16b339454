"""How late the event loop runs: a watcher asks to wake every `interval` and notes by how much
it woke late. Anything that holds the loop (a statement, a slow step) shows as lag: what every
request, webhook and post on this bridge waits for on top of its own work."""

import asyncio
import time
from collections import deque
from collections.abc import Callable

INTERVAL = 0.05  # seconds between looks
KEPT = 1200  # looks kept for /healthz: the last minute


class LoopLag:
    def __init__(self, observe: Callable[[float], None] = lambda lag: None) -> None:
        self._observe = observe
        self._recent: deque[float] = deque(maxlen=KEPT)

    async def watch(self, interval: float = INTERVAL) -> None:
        """Until cancelled."""
        while True:
            due = time.perf_counter() + interval
            await asyncio.sleep(interval)
            lag = max(time.perf_counter() - due, 0.0)
            self._recent.append(lag)
            self._observe(lag)

    def recent(self) -> dict[str, float]:
        """The last minute's lag in milliseconds: p50, p99 and the worst."""
        lags = sorted(self._recent)
        if not lags:
            return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}

        def at(share: float) -> float:
            return round(lags[min(int(share * len(lags)), len(lags) - 1)] * 1000, 2)

        return {"p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": round(lags[-1] * 1000, 2)}
