"""The same latency and throughput measures on each way of running: one bridge on SQLite, one on
PostgreSQL, two on PostgreSQL behind a load balancer (`python -m bench.perf --only backends`).

PostgreSQL runs on this machine (fsync on, as in production), so its cores are shared with the
bridges, the fakes and the load: the numbers are what one small machine does, not a ceiling.
"""

from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.balancer import Balancer
from bench.harness import App, Front, app_env, shared_database, start_fakes
from bench.load import UNPACED, Bench, bridge_chatra_to_slack
from sandbox.server import free_port

WAYS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2))


async def measure_backends(workdir: Path, levels: list[int], events: int) -> list[dict[str, Any]]:
    """For each way: latency (p50/p95/p99) and throughput at `levels` concurrent chats, in both
    directions, the fake Slack unpaced (this measures the bridge, not Slack)."""
    rows: list[dict[str, Any]] = []
    print(f"{'way':<16}{'direction':<15}{'chats':>6}{'p50 ms':>9}{'p95 ms':>9}{'per s':>9}")
    for database, bridges in WAYS:
        slack, membrane = await start_fakes()
        with shared_database(database) as url:
            shared = {"database_url": url} if url else {}
            apps = [
                App(
                    app_env(slack, membrane, free_port(), workdir / f"{database}-{n}", **UNPACED,
                            **shared),
                    workdir / f"{database}-{bridges}-{n}.log",
                )
                for n in range(bridges)
            ]  # fmt: skip
            balancer = await Balancer([app.url for app in apps]).start()
            front = Front(balancer.url) if bridges > 1 else Front(apps[0].url)
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
                        way = f"{database} x{bridges}"
                        rows.append({"database": database, "bridges": bridges, **asdict(row)})
                        print(
                            f"{way:<16}{direction:<15}{chats:>6}{row.p50_ms:>9.2f}"
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
