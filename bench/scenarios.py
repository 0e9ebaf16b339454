"""Two more chaos scenarios, run with `python -m bench.chaos --scenario ...`:

- `outage`: while chats flow both ways, Slack is down (every call answers 500) for `--down`
  seconds, then Membrane (503) as long. Counted as the kill run is: lost, doubled, out of order.
- `head-of-line`: visitors fill the channel's Slack pace with a backlog of posts, then an agent
  answers each of them; prints how long each answer took to reach Chatra (target: under 1 s).
"""

import asyncio
import contextlib
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.chats import finish, progress, run_chat, thread_of
from bench.harness import (
    CHANNEL,
    JSON,
    App,
    app_env,
    deliver,
    slack_headers,
    start_fakes,
)
from bench.tally import Report
from sandbox.server import free_port
from sandbox.slack_wire import thread_reply

FOREVER = 10**9


async def outage(chats: int, messages: int, down: float, pace: float, seed: int, workdir: Path):
    rng = random.Random(seed)
    report = Report(chats, messages)
    slack, membrane = await start_fakes()
    slack.post_limit = (5, 1.0)
    env = app_env(slack, membrane, free_port(), workdir)
    app = App(env, workdir / "app.log")
    membrane.echo_to = app.webhook_url
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        await app.start(http)

        async def take_down() -> None:
            await asyncio.sleep(pace)  # the chats have begun
            print(f"  {time.monotonic() - started:5.1f}s Slack down for {down:g}s", flush=True)
            slack.fail_next("*", status=500, error="internal_error", times=FOREVER)
            await asyncio.sleep(down)
            slack.faults.clear()
            print(f"  {time.monotonic() - started:5.1f}s Membrane down for {down:g}s", flush=True)
            membrane.fail_next(None, status=503, type="internal", times=FOREVER)
            await asyncio.sleep(down)
            membrane.faults.clear()
            print(f"  {time.monotonic() - started:5.1f}s all back", flush=True)

        chats_flow = [run_chat(n, messages, app.url, slack, http, rng, pace) for n in range(chats)]
        shown = asyncio.create_task(progress(slack, membrane, report, started))
        await asyncio.gather(take_down(), *chats_flow)
        await finish(app.url, http, slack, membrane, report)
        await app.stop()
        shown.cancel()
    report.seconds = round(time.monotonic() - started, 1)
    back = [m.text for m in slack.parents(CHANNEL) if " is back after " in m.text]
    print("  said in the channel:", *back, sep="\n    ")
    await slack.stop()
    await membrane.stop()
    return report


async def head_of_line(visitors: int, messages: int, workdir: Path) -> dict[str, Any]:
    """An agent answers while the chat's visitor messages queue for Slack's pace."""
    slack, membrane = await start_fakes()
    slack.post_limit = (5, 1.0)  # Slack: about one post a second per channel, bursts of 5
    arrived: dict[str, float] = {}
    all_arrived = asyncio.Event()

    def on_run(key: str, data: dict[str, Any]) -> None:
        arrived.setdefault(str(data.get("text")), time.monotonic())
        if len(arrived) == visitors:
            all_arrived.set()

    membrane.on_run = on_run
    app = App(app_env(slack, membrane, free_port(), workdir), workdir / "log")
    async with aiohttp.ClientSession() as http:
        await app.start(http)
        threads = []
        for v in range(visitors):
            first = _webhook("chatStarted", v, range(1))
            await deliver(http, app.webhook_url, first, JSON)
            threads.append(await thread_of(slack, f"Chat {v:03d}"))
        for v in range(visitors):  # the backlog: every visitor writes `messages` at once
            await deliver(http, app.webhook_url, _webhook("chatFragment", v, range(messages)), JSON)
        await asyncio.sleep(1)
        waiting_posts = visitors * messages - (len(slack.messages) - visitors * 2)
        sent_at = {}
        for v, thread_ts in enumerate(threads):
            text = f"answer {v}"
            event = {
                "type": "event_callback",
                "event_id": f"EvHol{v}",
                "team_id": "T0000TEAM",
                "event": thread_reply(CHANNEL, "U0AGENT01", text, f"1800000100.{v:06d}", thread_ts),
            }
            body = json.dumps(event).encode()
            sent_at[text] = time.monotonic()
            await deliver(http, app.url + "/slack/events", body, slack_headers(body))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_arrived.wait(), 120)
        await app.stop()
    await slack.stop()
    await membrane.stop()
    latencies = [arrived[t] - sent_at[t] for t in sent_at if t in arrived]
    return {
        "visitors": visitors,
        "messages_each": messages,
        "posts_waiting_when_answered": waiting_posts,
        "answers": len(sent_at),
        "answers_reached_chatra": len(latencies),
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_max_s": round(max(latencies), 3) if latencies else None,
        "rate_limited_429": slack.rate_limited,
    }


def _webhook(event: str, v: int, numbers: range) -> bytes:
    said = [
        {
            "id": f"v{v}-{i}",
            "type": "client",
            "message": f"visitor {v}.{i}",
            "createdAt": 1_700_000_000_000 + i,
        }
        for i in numbers
    ]
    client = {"id": f"client-{v:03d}", "name": f"Chat {v:03d}"}
    return json.dumps({"eventName": event, "client": client, "messages": said}).encode()
