"""Chaos run: the real app as a subprocess, killed with SIGKILL at random moments and restarted on
the same database while chats flow both ways. Then every message is counted on each side.

    python -m bench.chaos --chats 50 --messages 10        # the full run, by hand (~3 min)
    python -m bench.chaos --chats 4 --messages 3 --json bench/results/chaos.json
    python -m bench.chaos --bridges 2 --chats 20 --messages 10   # two bridges on PostgreSQL
    python -m bench.chaos --scenario outage --chats 20 --messages 10 --down 120   # ~6 min
    python -m bench.chaos --scenario head-of-line        # an agent's answer behind a backlog

With `--bridges 2` (or more) the bridges share a PostgreSQL database (a throwaway server from the
machine's packages) behind a load balancer that sends each request to one of them at random,
and either is killed at random while the other carries on.

Prints sent / delivered / lost / duplicated / out-of-order per direction and the number of restarts;
exits 1 if anything was lost, doubled or reordered (or, head-of-line, an answer took 1 s or more).
"""

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import aiohttp

from bench.balancer import Balancer
from bench.chats import finish, progress, run_chat, webhook_url
from bench.harness import (
    App,
    app_env,
    shared_database,
    start_fakes,
)
from bench.scenarios import head_of_line, outage
from bench.tally import Report, print_report
from sandbox.server import free_port
from storage import open_database


async def killer(
    apps: list[App],
    http: aiohttp.ClientSession,
    report: Report,
    stop: asyncio.Event,
    mean_gap: float,
    rng: random.Random,
) -> None:
    """SIGKILL one of the bridges now and then, and start it again."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(0.2, 2 * mean_gap))
        except TimeoutError:
            app = rng.choice(apps)
            await app.kill()
            report.restarts += 1
            await app.start(http)


async def chaos(
    chats: int,
    messages: int,
    mean_gap: float,
    drain_kills: float,
    echo_grace: float,
    seed: int,
    workdir: Path,
    bridges: int = 1,
    database: str = "sqlite",
) -> Report:
    rng = random.Random(seed)
    report = Report(chats, messages, bridges, database)
    slack, membrane = await start_fakes()
    slack.post_limit = (5, 1.0)
    membrane.latency = 1.0  # Chatra has acted, the answer is on its way: the in-doubt window
    with shared_database(database) as url:
        shared = {"database_url": url, "lane_lease_seconds": "5"} if url else {}
        apps = [
            App(
                app_env(
                    slack, membrane, free_port(), workdir, chatra_echo_grace=str(echo_grace),
                    **shared,
                ),
                workdir / f"app-{n}.log",
            )
            for n in range(bridges)
        ]  # fmt: skip
        balancer = await Balancer([app.url for app in apps], seed).start()
        front = balancer.url if bridges > 1 else apps[0].url
        membrane.echo_to = webhook_url(front)
        started = time.monotonic()
        shown = asyncio.create_task(progress(slack, membrane, report, started))
        async with aiohttp.ClientSession() as http:
            for app in apps:
                await app.start(http)
            stop = asyncio.Event()
            kills = asyncio.create_task(killer(apps, http, report, stop, mean_gap, rng))
            await asyncio.gather(
                *(run_chat(n, messages, front, slack, http, rng) for n in range(chats))
            )
            await asyncio.sleep(drain_kills)  # most work is done as the backlog drains: kill then
            stop.set()
            await kills
            await finish(front, http, slack, membrane, report)
            for app in apps:
                await app.stop()
        report.figures_wrong = await asyncio.to_thread(
            figures_wrong, url or str(workdir / "bridge.db"), messages
        )
        shown.cancel()
        await balancer.stop()
    report.sends_in_doubt = sum(app.log_path.read_text().count("was in doubt") for app in apps)
    report.seconds = round(time.monotonic() - started, 1)
    await slack.stop()
    await membrane.stop()
    return report


def figures_wrong(database: str, messages: int) -> int:
    """Chats whose figures do not say `messages` from the visitor and as many answers."""
    db = open_database(database, migrate=False)
    try:
        rows = db.execute("SELECT visitor_messages, agent_messages FROM chat_figures").fetchall()
    finally:
        db.close()
    return sum(1 for counted in rows if counted != (messages, messages))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10, help="messages per chat, each way")
    parser.add_argument(
        "--kill-every", type=float, default=1.5, help="mean seconds between SIGKILLs"
    )
    parser.add_argument(
        "--drain-kills",
        type=float,
        default=10.0,
        help="seconds to go on killing after the last message was accepted",
    )
    parser.add_argument(
        "--echo-grace",
        type=float,
        default=3.0,
        help="CHATRA_ECHO_GRACE for the app: 0 shows what an unsettled in-doubt send costs",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bridges", type=int, default=1, help="bridges behind a load balancer")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        help="default: sqlite for one bridge, postgresql for more",
    )
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--scenario", choices=("kills", "outage", "head-of-line"), default="kills")
    parser.add_argument("--down", type=float, default=120, help="outage: seconds each is down")
    parser.add_argument("--pace", type=float, default=3, help="outage: seconds between messages")
    args = parser.parse_args(argv)
    database = args.database or ("postgresql" if args.bridges > 1 else "sqlite")
    if args.bridges > 1 and database == "sqlite":
        parser.error("more than one bridge needs PostgreSQL: one SQLite file, one bridge")
    print(f"chaos {args.scenario}: running", flush=True)
    with tempfile.TemporaryDirectory(prefix="chaos-") as workdir:
        if args.scenario == "head-of-line":
            found = asyncio.run(head_of_line(5, 20, Path(workdir)))
            print(json.dumps(found, indent=2))
            if args.json:
                args.json.write_text(json.dumps(found, indent=2))
            return 0 if found["latency_max_s"] is not None and found["latency_max_s"] < 1 else 1
        if args.scenario == "outage":
            run = outage(args.chats, args.messages, args.down, args.pace, args.seed, Path(workdir))
        else:
            run = chaos(
                args.chats,
                args.messages,
                args.kill_every,
                args.drain_kills,
                args.echo_grace,
                args.seed,
                Path(workdir),
                args.bridges,
                database,
            )
        report = asyncio.run(run)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
