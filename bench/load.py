"""Load for the benches: chats opened in the fake Slack, events sent to the bridge as Chatra and
Slack send them, and the moment each arrives at the other fake."""

import asyncio
import itertools
import json
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
    Front,
    deliver,
    slack_headers,
)
from sandbox.membrane import API_VERSION, FakeMembrane
from sandbox.slack import FakeSlack
from sandbox.slack_wire import thread_reply

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
    def __init__(
        self, slack: FakeSlack, membrane: FakeMembrane, front: Front, app: App | None = None
    ) -> None:
        """Requests go to `front`; `app` is the one bridge behind it, when there is one."""
        self.slack, self.membrane, self.front, self.app = slack, membrane, front, app
        self.seen = Seen()
        slack.on_post = lambda posted: self.seen.arrived(posted.text)
        membrane.on_run = lambda key, data: self.seen.arrived(str(data.get("text", "")))
        self.threads: dict[int, str] = {}  # chat number -> its thread's ts
        self._replies = itertools.count(1)
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def open_chats(self, count: int) -> None:
        """Chats 0..count-1, each with its thread in Slack."""
        new = [n for n in range(count) if n not in self.threads]
        cards = {f"Chat {n:05d}: hello {n} (New chat)": n for n in new}  # the card opens with it
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
        await deliver(self.http, self.front.webhook_url, body.encode(), JSON)

    async def slack_reply(self, n: int, i: int, text: str) -> None:
        ts = f"{1_700_000_000 + n}.{next(self._replies):06d}"  # unique, as Slack's
        event = thread_reply(CHANNEL, AGENT, text, ts, self.threads[n])
        envelope = {"type": "event_callback", "event_id": f"Ev-{text}", "event": event}
        body = json.dumps(envelope).encode()
        await deliver(self.http, self.front.url + "/slack/events", body, slack_headers(body))

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


def bridge_chatra_to_slack(bench: Bench) -> Send:
    async def send(n: int, i: int, text: str) -> None:
        await bench.webhook(n, "chatFragment", text)

    return send
