"""The same latency and throughput measures on each way of running, side by side: one bridge on
SQLite, one on PostgreSQL next door, one on PostgreSQL about a millisecond away (through a
proxy that holds every packet: `bench.distance`), two on PostgreSQL behind a load balancer
(`python -m bench.perf --only backends`).

PostgreSQL runs on this machine (fsync on, as in production), so its cores are shared with the
bridges, the fakes and the load: the numbers are what one small machine does, not a ceiling.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.balancer import Balancer
from bench.distance import proxy_process, round_trip
from bench.harness import App, Front, app_env, shared_database, start_fakes
from bench.load import UNPACED, Bench, bridge_chatra_to_slack
from sandbox.server import free_port

AWAY = 0.0003  # seconds each way through the proxy: about a millisecond's round trip


@dataclass(frozen=True)
class Way:
    database: str  # "sqlite" | "postgresql"
    bridges: int = 1
    one_way: float = 0.0  # seconds the database's packets are held each way
    pool: int | None = None  # DATABASE_POOL_SIZE, when not the default

    @property
    def name(self) -> str:
        away = f" ~{round_trip(self.one_way) * 1000:.1f} ms" if self.one_way else ""
        return f"{self.database}{away} x{self.bridges}"


WAYS = (Way("sqlite"), Way("postgresql"), Way("postgresql", one_way=AWAY), Way("postgresql", 2))


@contextlib.contextmanager
def database_for(way: Way) -> Iterator[str | None]:
    """The way's database URL (None: SQLite), behind the proxy when it is away."""
    with shared_database(way.database) as url:
        if url is None or not way.one_way:
            yield url
            return
        parts = urlsplit(url)
        with proxy_process(
            parts.hostname or "127.0.0.1", parts.port or 5432, one_way=way.one_way
        ) as port:
            yield urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}"))


async def measure_backends(
    workdir: Path, levels: list[int], events: int, ways: tuple[Way, ...] = WAYS
) -> list[dict[str, Any]]:
    """For each way: latency (p50/p95/p99) and throughput at `levels` concurrent chats, in both
    directions, the fake Slack unpaced (this measures the bridge, not Slack)."""
    rows: list[dict[str, Any]] = []
    print(f"{'way':<24}{'direction':<15}{'chats':>6}{'p50 ms':>9}{'p95 ms':>9}{'per s':>9}")
    for way in ways:
        name = way.name
        slack, membrane = await start_fakes()
        with database_for(way) as url:
            shared = {"database_url": url} if url else {}
            if way.pool:
                shared["database_pool_size"] = str(way.pool)
            apps = [
                App(
                    app_env(slack, membrane, free_port(), workdir / f"{way.database}-{n}",
                            **UNPACED, **shared),
                    workdir / f"{way.database}-{way.bridges}-{n}.log",
                )
                for n in range(way.bridges)
            ]  # fmt: skip
            balancer = await Balancer([app.url for app in apps]).start()
            front = Front(balancer.url) if way.bridges > 1 else Front(apps[0].url)
            bench = Bench(slack, membrane, front)
            try:
                for app in apps:
                    await app.start(bench.http)
                await bench.open_chats(max(levels))
                for chats in levels:
                    total = max(events, 2 * chats)
                    for direction, send in (
                        ("chatra->slack", bridge_chatra_to_slack(bench)),
                        ("slack->chatra", bench.slack_reply),
                    ):
                        row = await bench.latency(direction, "bridge", chats, total, send)
                        rows.append({"way": name, **asdict(way), **asdict(row)})
                        print(
                            f"{name:<24}{direction:<15}{chats:>6}{row.p50_ms:>9.2f}"
                            f"{row.p95_ms:>9.2f}{row.per_second:>9.0f}",
                            flush=True,
                        )
            finally:
                await bench.close()
                for app in apps:
                    await app.stop()
                await balancer.stop()
                await slack.stop()
                await membrane.stop()
    return rows
