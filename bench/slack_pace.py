"""bench.perf's pacing parts, against a fake Slack that enforces Slack's limit (about 1 post/s per
channel, bursts of 5), the bridge at its default pacing: a burst of chats into one channel, and
visitors writing faster, in all, than one channel can be posted to (`busy`, `busy-routed`)."""

import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import JSON, App, app_env, deliver, start_fakes
from sandbox.server import free_port, wait_for


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


@dataclass
class BusyChannel:
    """Visitors writing faster, in all, than Slack lets one channel be posted to."""

    chats: int
    messages_each: int
    every_seconds: float
    channels: int
    p50_s: float
    p95_s: float
    max_s: float
    rate_limited: int
    lost: int
    duplicated: int
    slack_posts: int


async def measure_busy_channel(
    workdir: Path, chats: int = 10, messages: int = 6, every: float = 3.0, channels: int = 1
) -> BusyChannel:
    """`chats` visitors each write `messages` messages `every` seconds apart; a fake Slack enforcing
    1 post/s per channel with bursts of 5; the bridge on its defaults (routed over `channels`
    channels when more than one). How late each message reached Slack, and what was lost."""
    slack, membrane = await start_fakes()
    names = [f"C0BUSY{n:04d}" for n in range(channels)]
    slack.channels |= set(names)
    slack.post_limit = (5, 1.0)
    sent_at: dict[str, float] = {}
    seen: dict[str, list[float]] = {}

    shown_in: dict[str, set[str]] = {}  # post ts -> texts it shows (an update may add more)

    def posted(message: Any) -> None:
        shown = shown_in.setdefault(message.ts, set())
        everything = f"{message.text} {message.blocks}"  # a card shows its messages in blocks
        for text in sent_at:
            if text in everything and text not in shown:
                shown.add(text)
                seen.setdefault(text, []).append(time.monotonic())

    slack.on_post = slack.on_update = posted
    extra = {}
    if channels > 1:
        routes = workdir / f"routes{channels}.json"
        rules = [
            {"queue": f"Land {n}", "country": f"Land{n}", "channel": name}
            for n, name in enumerate(names)
        ]
        routes.write_text(json.dumps({"routes": rules}))
        extra["channel_routes"] = str(routes)
    env = app_env(slack, membrane, free_port(), workdir / f"busy{channels}", **extra)
    app = App(env, workdir / f"busy{channels}.log")
    try:
        async with aiohttp.ClientSession() as http:
            await app.start(http)

            async def visitor(n: int) -> None:
                client = {"id": f"busy-{n}", "name": f"Busy {n}", "country": f"Land{n % channels}"}
                for i in range(messages):
                    text = f"busy {n}.{i} question"
                    said = [{"type": "client", "text": text, "createdAt": 1_700_000_000_000 + i}]
                    event = "chatStarted" if i == 0 else "chatFragment"
                    body = {"eventName": event, "client": client, "messages": said}
                    sent_at[text] = time.monotonic()
                    await deliver(http, app.webhook_url, json.dumps(body).encode(), JSON)
                    await asyncio.sleep(every)

            await asyncio.gather(*(visitor(n) for n in range(chats)))
            await wait_for(lambda: len(seen) >= len(sent_at), within=chats * messages * 2 + 60)
            await asyncio.sleep(2)  # anything posted twice shows now
            await app.stop()
    finally:
        await slack.stop()
        await membrane.stop()
    late = sorted(seen[text][0] - sent_at[text] for text in seen)
    return BusyChannel(
        chats,
        messages,
        every,
        channels,
        p50_s=round(statistics.median(late), 1),
        p95_s=round(late[int(0.95 * (len(late) - 1))], 1),
        max_s=round(late[-1], 1),
        rate_limited=slack.rate_limited,
        lost=len(sent_at) - len(seen),
        duplicated=sum(len(times) - 1 for times in seen.values()),
        slack_posts=len(slack.messages),
    )
