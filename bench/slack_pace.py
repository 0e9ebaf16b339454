"""bench.perf's pacing part: a burst of chats into one channel against a fake Slack that enforces
Slack's limit (about 1 post/s per channel, bursts of 5), the bridge at its default pacing."""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.harness import JSON, App, app_env, deliver, free_port, start_fakes
from sandbox.server import wait_for


@dataclass
class Pacing:
    threads: int
    posts: int
    seconds: float
    theoretical_seconds: float
    rate_limited: int


async def measure_pacing(workdir: Path, threads: int, per_thread: int) -> Pacing:
    """A fresh app at its default pacing against a fake Slack that enforces Slack's limit."""
    slack, membrane = await start_fakes()
    burst, rate = 5, 1.0
    slack.post_limit = (burst, rate)
    app = App(app_env(slack, membrane, free_port(), workdir / "pacing"), workdir / "pacing.log")
    posts = threads * (per_thread + 1)  # each thread: its card, then the messages
    try:
        async with aiohttp.ClientSession() as http:
            await app.start(http)
            began = time.perf_counter()
            for n in range(threads):
                messages = [
                    {"id": f"p{n}-{i}", "type": "client", "message": f"p{n}-{i}", "createdAt": i}
                    for i in range(per_thread)
                ]
                client = {"id": f"pacing-{n}", "name": f"Pacing {n}"}
                body = {"eventName": "chatStarted", "client": client, "messages": messages}
                await deliver(http, app.webhook_url, json.dumps(body).encode(), JSON)
            await wait_for(lambda: len(slack.messages) >= posts, within=3 * posts + 60)
            seconds = time.perf_counter() - began
            await app.stop()
    finally:
        await slack.stop()
        await membrane.stop()
    theoretical = max(0.0, (posts - burst) / rate)
    return Pacing(threads, posts, round(seconds, 1), theoretical, slack.rate_limited)
