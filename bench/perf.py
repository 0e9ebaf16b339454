"""What the bridge costs per event, measured against the floor.

Starts the real app (`python -m bot serve`) as a child process against the fake Slack and
Membrane on 127.0.0.1 and measures, in one run:

  floor          the bare HTTP round trips the bridge must make per event (one request in, one
                 out), made by a minimal aiohttp client against the same fakes
  chatra->slack  webhook sent -> the reply posted at the fake Slack
  slack->chatra  signed Slack event sent -> send-agent-message run at the fake Membrane
                 (p50/p95/p99 latency, throughput at saturation, for 1..1,000 concurrent chats;
                 Slack's per-channel pacing is lifted here: it would measure Slack, not us)
  scale          1,000 open chats, 200 events/s for 60 s: peak RSS, CPU, SQLite size, inbox
                 depth over time, and every message counted on both sides
  pacing         300 messages into 30 threads of one channel, the fake Slack enforcing
                 1 post/s per channel with bursts of 5, the bridge at its default pacing
  busy           10 visitors each writing every 3 s, 6 messages (3.3 messages/s offered), the fake
                 Slack enforcing 1 post/s per channel with bursts of 5: how late messages reach
                 Slack (p50, p95, max), 429s, lost, duplicated; then the same over 3 routed channels
  transports     the cost of one Membrane action over HTTP and through the `membrane` command
  backends       latency and throughput at 1, 10, 100 chats, side by side: one bridge on SQLite,
                 one on PostgreSQL next door, one on PostgreSQL ~1 ms away (a proxy holds every
                 packet), two on PostgreSQL behind a load balancer (bench.backends)
  lock           another session locks a table 4 s while events flow: how long the webhook,
                 Slack's events and /healthz take to answer, and every message after (bench.lock)

    python -m bench.perf                     # everything, about 8 minutes
    python -m bench.perf --quick             # small sizes, about 1 minute
    python -m bench.perf --only latency      # one part: latency, scale, pacing, busy, transports,
                                             # backends or lock

Prints a table and writes bench/results/perf-<date>.json (or --json PATH) so runs can be compared.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.backends import measure_backends
from bench.harness import App, Front, app_env, shared_database, start_fakes
from bench.load import UNPACED, Bench, Latency, bridge_chatra_to_slack
from bench.lock import measure_lock
from bench.slack_pace import measure_busy_channel, measure_pacing
from bench.transports import measure_transports
from sandbox.server import free_port, wait_for

# What is locked: SQLite's file; on PostgreSQL a table the worker uses that intake does not,
# one Slack's intake reads, and the inbox itself (intake cannot store: it answers 503 at once).
LOCKED = [("sqlite", "inbox"), ("postgresql", "messages"), ("postgresql", "threads")]
LOCKED += [("postgresql", "inbox")]


@dataclass
class Scale:
    chats: int
    rate: int
    seconds: float
    sent: dict[str, int] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    duplicated: int = 0
    drain_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_percent: float = 0.0
    sqlite_mb: float = 0.0
    inbox_depth: list[int] = field(default_factory=list)  # pending events, once a second
    loop_lag_ms: dict[str, float] = field(default_factory=dict)  # the last minute's, at the end


async def measure_latency(bench: Bench, levels: list[int], events: int) -> list[Latency]:
    await bench.open_chats(max(levels))
    rows = []
    for chats in levels:
        total = max(events, 2 * chats)
        for direction, floor, bridge in (
            ("chatra->slack", bench.floor_chatra_to_slack, bridge_chatra_to_slack(bench)),
            ("slack->chatra", bench.floor_slack_to_chatra, bench.slack_reply),
        ):
            rows.append(await bench.latency(direction, "floor", chats, total, floor))
            rows.append(await bench.latency(direction, "bridge", chats, total, bridge))
            print_row(rows[-2], rows[-1])
    return rows


async def measure_scale(bench: Bench, chats: int, rate: int, seconds: float) -> Scale:
    """Open-loop load: `rate` events a second, visitor and agent messages in turn."""
    await bench.open_chats(chats)
    report = Scale(chats, rate, seconds)
    expected = {"visitor": set(), "agent": set()}
    tasks: set[asyncio.Task[None]] = set()
    assert bench.app is not None
    pid = bench.app.process.pid if bench.app.process else 0
    cpu_before, began = cpu_seconds(pid), time.perf_counter()
    sampler = asyncio.create_task(sample(bench, report, pid))
    for k in range(int(rate * seconds)):
        n, due = k % chats, began + k / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if k % 2 == 0:
            text = f"sv-{k}"
            expected["visitor"].add(text)
            task = asyncio.create_task(bench.webhook(n, "chatFragment", text))
        else:
            text = f"sa-{k}"
            expected["agent"].add(text)
            task = asyncio.create_task(bench.slack_reply(n, k, text))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    sent_at = time.perf_counter()
    everything = expected["visitor"] | expected["agent"]
    with contextlib.suppress(TimeoutError):  # what has not arrived in 5 min is lost
        await wait_for(lambda: all(bench.seen.counts[t] for t in everything), within=300)
    report.drain_seconds = round(time.perf_counter() - sent_at, 1)
    sampler.cancel()
    report.cpu_percent = round(
        100 * (cpu_seconds(pid) - cpu_before) / (time.perf_counter() - began), 1
    )
    for side, texts in expected.items():
        report.sent[side] = len(texts)
        report.received[side] = sum(1 for t in texts if bench.seen.counts[t])
        report.duplicated += sum(bench.seen.counts[t] - 1 for t in texts if bench.seen.counts[t])
    report.lost = sum(report.sent.values()) - sum(report.received.values())
    async with bench.http.get(bench.front.url + "/healthz") as response:
        report.loop_lag_ms = (await response.json()).get("loop_lag", {})
    db = Path(bench.app.env["DATABASE_PATH"])
    files = [db, db.with_name(db.name + "-wal")]
    report.sqlite_mb = round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)
    return report


async def sample(bench: Bench, report: Scale, pid: int) -> None:
    while True:
        report.inbox_depth.append(await bench.app.pending(bench.http))
        report.peak_rss_mb = max(report.peak_rss_mb, rss_mb(pid))
        await asyncio.sleep(1)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def print_row(floor: Latency, bridge: Latency) -> None:
    ratio = bridge.p50_ms / floor.p50_ms if floor.p50_ms else float("nan")
    print(
        f"{bridge.direction:<15}{bridge.chats:>6}{floor.p50_ms:>9.2f}{bridge.p50_ms:>9.2f}"
        f"{bridge.p95_ms:>9.2f}{bridge.p99_ms:>9.2f}{floor.per_second:>10.0f}"
        f"{bridge.per_second:>10.0f}{ratio:>8.2f}x",
        flush=True,
    )


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    print(f"machine: {results['machine']}")
    everything = {"latency", "scale", "pacing", "busy", "transports", "backends", "lock"}
    parts = {args.only} if args.only else everything
    if parts & {"latency", "scale"}:
        await latency_and_scale(args, parts, workdir, results)

    if "pacing" in parts:
        pacing = await measure_pacing(workdir, 3 if args.quick else 30, 10)
        results["pacing"] = asdict(pacing)
        print(f"pacing: {json.dumps(asdict(pacing))}")
    if "busy" in parts:  # issue 17's scenario exactly, then the same over 3 routed channels
        for channels in (1, 3):
            busy = await measure_busy_channel(workdir, channels=channels)
            results[f"busy_{channels}_channel"] = asdict(busy)
            print(f"busy channel: {json.dumps(asdict(busy))}", flush=True)
    if "backends" in parts:  # SQLite, PostgreSQL, two bridges on PostgreSQL
        levels = [1, 10] if args.quick else [1, 10, 100]
        results["backends"] = await measure_backends(workdir, levels, 50 if args.quick else 400)
    if "lock" in parts:  # a table locked 4 s by another session: SQLite's file, PostgreSQL's
        results["lock"] = []
        for database, table in LOCKED:
            locked = await measure_lock(workdir, database, table)
            results["lock"].append(asdict(locked))
            print(f"lock: {json.dumps(asdict(locked))}", flush=True)
    if "transports" in parts:
        results["membrane_cli_vs_http"] = await measure_transports(
            workdir, 10 if args.quick else 50
        )
        print(f"membrane per action: {json.dumps(results['membrane_cli_vs_http'])}")
    return results


async def latency_and_scale(
    args: argparse.Namespace, parts: set[str], workdir: Path, results: dict[str, Any]
) -> None:
    """One bridge, on SQLite or (`--database postgresql`) on PostgreSQL."""
    slack, membrane = await start_fakes()
    with shared_database(args.database) as url:
        shared = {"database_url": url} if url else {}
        env = app_env(slack, membrane, free_port(), workdir, **UNPACED, **shared)
        app = App(env, workdir / "app.log")
        bench = Bench(slack, membrane, Front(app.url), app)
        profiler = None
        try:
            await app.start(bench.http)
            if args.profile and app.process:  # sample the app's stacks (py-spy, from PyPI)
                profiler = await asyncio.create_subprocess_exec(
                    *("py-spy", "record", "--pid", str(app.process.pid), "--rate", "200"),
                    *("--format", "raw", "-o", str(args.profile)),
                    stdout=asyncio.subprocess.DEVNULL,
                )
            if "latency" in parts:
                print(
                    f"{'direction':<15}{'chats':>6}{'floor50':>9}{'p50 ms':>9}{'p95 ms':>9}"
                    f"{'p99 ms':>9}{'floor/s':>10}{'bridge/s':>10}{'ratio':>9}"
                )
                levels = [1, 10, 100] if args.quick else [1, 10, 100, 1000]
                rows = await measure_latency(bench, levels, 50 if args.quick else 400)
                results["latency"] = [asdict(row) for row in rows]
            if "scale" in parts:
                scale = await measure_scale(
                    bench, 100 if args.quick else 1000, args.rate, args.seconds
                )
                results["scale"] = asdict(scale)
                print(f"scale: {json.dumps(asdict(scale))}")
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes what it sampled, and ends
                await profiler.wait()
            await bench.close()  # first: the app's graceful stop waits for open connections
            await app.stop()
            await slack.stop()
            await membrane.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.perf",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument(
        "--only",
        choices=["latency", "scale", "pacing", "busy", "transports", "backends", "lock"],
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="latency and scale: the bridge's database (PostgreSQL: a throwaway local server)",
    )
    parser.add_argument("--rate", type=int, default=200, help="scale: events per second")
    parser.add_argument("--seconds", type=float, default=60, help="scale: how long")
    parser.add_argument("--json", type=Path, help="where to write the results")
    parser.add_argument(
        "--profile", type=Path, help="run the app under py-spy; its collapsed stacks go here"
    )
    args = parser.parse_args(argv)
    if args.quick and args.seconds == 60:
        args.seconds = 5
    with tempfile.TemporaryDirectory(prefix="perf-") as workdir:
        results = asyncio.run(run(args, Path(workdir)))
    out = args.json or Path("bench/results") / f"perf-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")
    scale = results.get("scale")
    return 1 if scale and (scale["lost"] or scale["duplicated"]) else 0


if __name__ == "__main__":
    sys.exit(main())
