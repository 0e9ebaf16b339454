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

    python -m bench.perf                     # everything, about 8 minutes
    python -m bench.perf --quick             # small sizes, about 1 minute
    python -m bench.perf --only latency      # one part: latency, scale, pacing or transports

Prints a table and writes bench/results/perf-<date>.json (or --json PATH) so runs can be compared.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import (
    AGENT,
    BOT_TOKEN,
    CHANNEL,
    CONNECTION,
    JSON,
    MEMBRANE_TOKEN,
    App,
    app_env,
    deliver,
    free_port,
    slack_headers,
    start_fakes,
)
from bench.slack_pace import measure_busy_channel, measure_pacing
from bench.transports import measure_transports
from sandbox.membrane import API_VERSION, FakeMembrane
from sandbox.server import wait_for
from sandbox.slack import FakeSlack

UNPACED = {"slack_posts_per_second": "100000", "slack_post_burst": "100000"}
Send = Callable[[int, int, str], Awaitable[None]]


@dataclass
class Latency:
    direction: str
    who: str  # "floor" | "bridge"
    chats: int
    events: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    per_second: float


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


class Seen:
    """The moment each awaited text reached a fake, and how often every text arrived."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.counts: Counter[str] = Counter()

    def expect(self, text: str) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[text] = future
        return future

    def arrived(self, text: str) -> None:
        self.counts[text] += 1
        future = self.waiting.pop(text, None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())


class Bench:
    def __init__(self, slack: FakeSlack, membrane: FakeMembrane, app: App) -> None:
        self.slack, self.membrane, self.app = slack, membrane, app
        self.seen = Seen()
        slack.on_post = lambda posted: self.seen.arrived(posted.text)
        membrane.on_run = lambda key, data: self.seen.arrived(str(data.get("text", "")))
        self.threads: dict[int, str] = {}  # chat number -> its thread's ts
        self._replies = itertools.count(1)
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def open_chats(self, count: int) -> None:
        """Chats 0..count-1, each with its thread in Slack."""
        new = [n for n in range(count) if n not in self.threads]
        cards = {f"New chat: Chat {n:05d}": n for n in new}
        waiting = {text: self.seen.expect(text) for text in cards}
        await asyncio.gather(*(self.webhook(n, "chatStarted", f"hello {n}") for n in new))
        await asyncio.gather(*waiting.values())
        for card in self.slack.parents(CHANNEL):
            if card.text in cards:
                self.threads[cards[card.text]] = card.ts

    async def webhook(self, n: int, event: str, text: str) -> None:
        message = {"id": f"m-{text}", "type": "client", "message": text, "createdAt": 1}
        client = {"id": f"client-{n:05d}", "name": f"Chat {n:05d}"}
        body = json.dumps({"eventName": event, "client": client, "messages": [message]})
        await deliver(self.http, self.app.webhook_url, body.encode(), JSON)

    async def slack_reply(self, n: int, i: int, text: str) -> None:
        event = {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": AGENT,
            "text": text,
            "ts": f"{1_700_000_000 + n}.{next(self._replies):06d}",  # unique, as Slack's
            "thread_ts": self.threads[n],
        }
        envelope = {"type": "event_callback", "event_id": f"Ev-{text}", "event": event}
        body = json.dumps(envelope).encode()
        await deliver(self.http, self.app.url + "/slack/events", body, slack_headers(body))

    # -- the floor: the same round trips, bare --

    async def floor_chatra_to_slack(self, n: int, i: int, text: str) -> None:
        await self._post(self.slack.url + "/echo", {"eventName": "chatFragment", "text": text})
        args = {"channel": CHANNEL, "text": text, "thread_ts": self.threads[n]}
        headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
        await self._post(self.slack.api_url + "chat.postMessage", args, headers)

    async def floor_slack_to_chatra(self, n: int, i: int, text: str) -> None:
        await self._post(self.membrane.url + "/echo", {"type": "event_callback", "text": text})
        url = f"{self.membrane.url}/connections/{CONNECTION}/actions/send-agent-message/run"
        headers = {"Authorization": f"Bearer {MEMBRANE_TOKEN}", "membrane-api-version": API_VERSION}
        body = {"clientId": f"client-{n:05d}", "text": text, "agentId": "a9"}  # who writes
        await self._post(url, body, headers)

    async def _post(self, url: str, data: dict[str, Any], headers: dict[str, str] | None = None):
        async with self.http.post(url, json=data, headers=headers) as response:
            await response.read()

    # -- measuring --

    async def latency(
        self, direction: str, who: str, chats: int, events: int, send: Send
    ) -> Latency:
        """`chats` chats at once, each sending its next event when its last one arrived."""
        each = max(1, events // chats)
        times: list[float] = []

        async def chat(n: int) -> None:
            for i in range(each):
                text = f"{who[0]}{direction[0]}-{chats}-{n}-{i}"
                arrived = self.seen.expect(text)
                start = time.perf_counter()
                await send(n, i, text)
                times.append((await asyncio.wait_for(arrived, 60)) - start)

        began = time.perf_counter()
        await asyncio.gather(*(chat(n) for n in range(chats)))
        elapsed = time.perf_counter() - began
        ms = sorted(t * 1000 for t in times)
        cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
        return Latency(
            direction, who, chats, len(ms), round(cuts[49], 2), round(cuts[94], 2),
            round(cuts[98], 2), round(len(ms) / elapsed, 1),
        )  # fmt: skip

    async def close(self) -> None:
        await self.http.close()


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


def bridge_chatra_to_slack(bench: Bench) -> Send:
    async def send(n: int, i: int, text: str) -> None:
        await bench.webhook(n, "chatFragment", text)

    return send


async def measure_scale(bench: Bench, chats: int, rate: int, seconds: float) -> Scale:
    """Open-loop load: `rate` events a second, visitor and agent messages in turn."""
    await bench.open_chats(chats)
    report = Scale(chats, rate, seconds)
    expected = {"visitor": set(), "agent": set()}
    tasks: set[asyncio.Task[None]] = set()
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
    parts = {args.only} if args.only else {"latency", "scale", "pacing", "busy", "transports"}
    if parts & {"latency", "scale"}:
        slack, membrane = await start_fakes()
        env = app_env(slack, membrane, free_port(), workdir, **UNPACED)
        app = App(env, workdir / "app.log")
        bench = Bench(slack, membrane, app)
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
    if "pacing" in parts:
        pacing = await measure_pacing(workdir, 3 if args.quick else 30, 10)
        results["pacing"] = asdict(pacing)
        print(f"pacing: {json.dumps(asdict(pacing))}")
    if "busy" in parts:  # issue 17's scenario exactly, then the same over 3 routed channels
        for channels in (1, 3):
            busy = await measure_busy_channel(workdir, channels=channels)
            results[f"busy_{channels}_channel"] = asdict(busy)
            print(f"busy channel: {json.dumps(asdict(busy))}", flush=True)
    if "transports" in parts:
        results["membrane_cli_vs_http"] = await measure_transports(
            workdir, 10 if args.quick else 50
        )
        print(f"membrane per action: {json.dumps(results['membrane_cli_vs_http'])}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.perf",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--only", choices=["latency", "scale", "pacing", "busy", "transports"])
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
