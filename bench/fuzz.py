"""Fuzz pass over the two doors of the bridge: /chatra/webhook and /slack/events.

    python -m bench.fuzz --inputs 2000

Sends random bytes, random JSON, and mutations of valid Chatra webhooks and Slack events (signed and
unsigned) to the real app running against the fakes. Prints how many inputs were tried, accepted,
rejected cleanly (4xx) and how many broke something (5xx or a dropped connection). Then it waits
until every stored event is done or failed (at most --settle-within seconds) and says how long that
took: it counts nothing before. Exits 1 on any breakage, an event left unsettled or failed, or an
unhealthy app afterwards.
"""

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot.trying.sandboxed import RunningApp, settings_for
from sandbox.chatra import chat_event, visitor_says
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack

BOT_TOKEN, SIGNING_SECRET = "xoxb-fuzz-token", "fuzz-signing-secret"
WEBHOOK_SECRET, CHANNEL = "fuzz-webhook-secret-0123", "C0FUZZ0001"
WEIRD = [
    "",
    "\x00",
    "😀" * 3,
    "שלום",
    "\u202e",
    "a" * 5000,
    "<!channel>",
    "&amp;",
    "\ud7ff",
    None,
    0,
    -1,
    1e308,
    True,
    [],
    {},
]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.choice(WEIRD)
    if kind == 1:
        return rng.randint(-(2**63), 2**63)
    if kind == 2:
        return "".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(rng.randrange(20)))
    if kind == 3:
        return rng.random()
    if kind == 4:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["eventName", "client", "messages", "id", "type", "message", "event", "event_id", "x"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def mutate(value: Any, rng: random.Random) -> Any:
    """Change, drop or retype one field somewhere in a valid body."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        value = dict(value)
        roll = rng.random()
        if roll < 0.3:
            del value[key]
        elif roll < 0.6:
            value[key] = random_json(rng)
        else:
            value[key] = mutate(value[key], rng)
        return value
    if isinstance(value, list) and value:
        value = list(value)
        i = rng.randrange(len(value))
        value[i] = mutate(value[i], rng)
        return value
    return random_json(rng)


def webhook_body(rng: random.Random, n: int) -> bytes:
    roll = rng.random()
    if roll < 0.15:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
    if roll < 0.35:
        return json.dumps(random_json(rng)).encode()
    valid = chat_event(
        rng.choice(["chatStarted", "chatFragment", "chatTranscript", "chatRated"]),
        f"fuzz-{n % 7}",
        [visitor_says(f"f{n}", rng.choice(WEIRD[:8]) or "x")],
    )
    return json.dumps(mutate(valid, rng) if roll < 0.8 else valid).encode()


def slack_body(rng: random.Random, n: int) -> bytes:
    event = {
        "type": "message",
        "channel": CHANNEL,
        "user": "U0FUZZ",
        "text": "hi",
        "ts": f"1800000000.{n:06d}",
        "thread_ts": "1700000000.000001",
    }
    body = {
        "type": "event_callback",
        "event_id": f"EvFuzz{n}",
        "team_id": "T0000TEAM",
        "event": event,
    }
    roll = rng.random()
    if roll < 0.2:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
    return json.dumps(mutate(body, rng) if roll < 0.9 else body).encode()


async def fuzz(inputs: int, seed: int, settle_within: float, workdir: Path) -> Counter:
    rng = random.Random(seed)
    slack = await FakeSlack(BOT_TOKEN, {CHANNEL}, {}).start()
    membrane = await FakeMembrane("conn-fuzz").start()
    settings = settings_for(
        slack,
        membrane,
        workdir / "fuzz.db",
        signing_secret=SIGNING_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        slack_posts_per_second=10_000,  # Slack's pace would measure Slack, not the bridge
        slack_post_burst=10_000,
    )
    app = await RunningApp(settings).start()
    outcomes: Counter = Counter()
    try:
        for n in range(inputs):
            door = "webhook" if n % 2 == 0 else "slack"
            try:
                if door == "webhook":
                    status, _ = await app.webhook(webhook_body(rng, n))
                else:
                    signed = rng.random() < 0.8
                    status, _ = await app.slack_post(
                        slack_body(rng, n),
                        rng.choice(["application/json", "application/x-www-form-urlencoded"]),
                        secret=None if signed else "not-the-secret",
                    )
            except Exception as error:  # a dropped connection is what we count
                outcomes[f"{door}: broken ({type(error).__name__})"] += 1
                continue
            verdict = (
                "accepted"
                if status < 300
                else "rejected cleanly"
                if status < 500
                else "broken (5xx)"
            )
            outcomes[f"{door}: {verdict}"] += 1
        began = time.monotonic()
        with contextlib.suppress(TimeoutError):  # counted below: nothing is left out unsaid
            await app.settled(within=settle_within)  # every stored event done or failed
        outcomes["seconds to settle every event"] = round(time.monotonic() - began)
        status, health = await app.request("GET", "/healthz")
        outcomes["healthy afterwards"] = int(status == 200)
        outcomes["events not settled"] = health["pending_events"]
        outcomes["events failed"] = health["failed_events"]
    finally:
        await app.close()
        await slack.stop()
        await membrane.stop()
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--settle-within",
        type=float,
        default=300.0,
        help="at most this long for every stored event to be done or failed before counting",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as workdir:
        outcomes = asyncio.run(fuzz(args.inputs, args.seed, args.settle_within, Path(workdir)))
    print(f"fuzz: {args.inputs} inputs tried in {time.monotonic() - started:.1f}s")
    for outcome, number in sorted(outcomes.items()):
        print(f"  {outcome:<40}{number:>6}")
    broken = sum(n for outcome, n in outcomes.items() if "broken" in outcome)
    settled = not outcomes["events not settled"]
    healthy = outcomes["healthy afterwards"] and settled and not outcomes["events failed"]
    return 1 if broken or not healthy else 0


if __name__ == "__main__":
    sys.exit(main())
