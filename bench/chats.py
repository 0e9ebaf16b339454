"""The scripted chats of the chaos runs, both ways, and the count of every message at the end:
a visitor writes, an agent answers in the thread; then a transcript repeats it all and each side
is counted (sent, delivered, lost, duplicated, out of order)."""

import asyncio
import json
import random
import time
from typing import Any

import aiohttp

from bench.harness import CHANNEL, JSON, Front, deliver, slack_headers
from bench.tally import Report, count
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack
from sandbox.slack_wire import thread_reply


def visitor_messages(n: int, messages: int) -> list[dict[str, Any]]:
    """What the visitor of chat `n` writes, as Chatra's webhook carries it."""
    return [
        {
            "id": f"v{n}-{i}",
            "type": "client",
            "message": f"visitor {n}.{i}",
            "createdAt": 1_700_000_000_000 + i,
        }
        for i in range(messages)
    ]


def webhook_url(front: str) -> str:
    return Front(front).webhook_url


async def run_chat(
    n: int,
    messages: int,
    front: str,
    slack: FakeSlack,
    http: aiohttp.ClientSession,
    rng: random.Random,
    pace: float = 0.0,
) -> None:
    """Chat `n`: the visitor writes, an agent answers in the thread; `pace` seconds apart. Sent
    to `front`: the bridge, or the balancer in front of several."""
    client_id, name = f"client-{n:03d}", f"Chat {n:03d}"
    webhook = webhook_url(front)
    visitor = visitor_messages(n, messages)
    for i in range(messages):
        event = "chatStarted" if i == 0 else "chatFragment"
        batch = visitor[max(0, i - 1) : i + 1]  # fragments overlap by one message
        body = json.dumps(
            {"eventName": event, "client": {"id": client_id, "name": name}, "messages": batch}
        )
        await deliver(http, webhook, body.encode(), JSON)
        thread_ts = await thread_of(slack, name)
        ts = f"{1_800_000_000 + n}.{i:06d}"
        reply = thread_reply(CHANNEL, "U0AGENT01", f"agent {n}.{i}", ts, thread_ts)
        envelope = {
            "type": "event_callback",
            "event_id": f"Ev{n:03d}{i:04d}",
            "team_id": "T0000TEAM",
            "event": reply,
            "event_time": int(time.time()),
        }
        body = json.dumps(envelope).encode()
        await deliver(http, front + "/slack/events", body, slack_headers(body))
        if rng.random() < 0.2:  # Slack sometimes delivers an event twice
            headers = slack_headers(body) | {
                "X-Slack-Retry-Num": "1",
                "X-Slack-Retry-Reason": "http_timeout",
            }
            await deliver(http, front + "/slack/events", body, headers)
        await asyncio.sleep(pace)


async def thread_of(slack: FakeSlack, name: str) -> str:
    while True:
        for card in slack.parents(CHANNEL):
            if card.text.startswith(f"{name}:"):  # the card opens with what the visitor wrote
                return card.ts
        await asyncio.sleep(0.05)


async def progress(
    slack: FakeSlack, membrane: FakeMembrane, report: Report, started: float, every: float = 5.0
) -> None:
    """A line every few seconds, so a long run shows it is alive and how far it got."""
    while True:
        await asyncio.sleep(every)
        replies = sum(1 for m in slack.messages if m.thread_ts)
        sent = len(membrane.runs_of("send-agent-message"))
        print(
            f"  {time.monotonic() - started:5.0f}s  {replies} posts in Slack threads,"
            f" {sent} replies sent to Chatra, {report.restarts} restarts",
            flush=True,
        )


async def settle(
    front: str, http: aiohttp.ClientSession, slack: FakeSlack, membrane: FakeMembrane
) -> None:
    """Until the app has nothing pending and the fakes have seen nothing new for a while."""
    quiet_since, last = time.monotonic(), None
    while time.monotonic() - quiet_since < 3:
        async with http.get(front + "/healthz") as response:
            pending = (await response.json())["pending_events"]
        now = (pending, len(slack.messages), len(membrane.runs))
        if now != last or pending:
            quiet_since, last = time.monotonic(), now
        await asyncio.sleep(0.2)


async def finish(
    front: str,
    http: aiohttp.ClientSession,
    slack: FakeSlack,
    membrane: FakeMembrane,
    report: Report,
) -> None:
    """End every chat with a transcript that repeats everything, our agent messages too (as
    Chatra does), let it all settle, and count every message on both sides."""
    chats, messages = report.chats, report.messages_per_chat
    await settle(front, http, slack, membrane)
    for n in range(chats):
        client_id = f"client-{n:03d}"
        echoes = [
            {
                "id": m["id"],
                "type": "agent",
                "message": m["text"],
                "createdAt": m["createdAt"],
                "receivedFrom": m["receivedFrom"],
            }
            for m in membrane.messages.values()
            if m["clientId"] == client_id
        ]
        visitor = visitor_messages(n, messages)
        body = json.dumps(
            {
                "eventName": "chatTranscript",
                "client": {"id": client_id, "name": f"Chat {n:03d}"},
                "messages": visitor + echoes,
            }
        ).encode()
        await deliver(http, webhook_url(front), body, JSON)
    await settle(front, http, slack, membrane)
    for n in range(chats):
        cards = [c for c in slack.parents(CHANNEL) if f"Chat {n:03d}" in c.text]
        report.threads_duplicated += max(0, len(cards) - 1)
        shown = [said for c in cards for said in slack.chat(CHANNEL, c.ts)]
        visitor_texts = [f"visitor {n}.{i}" for i in range(messages)]
        count(visitor_texts, shown, report.chatra_to_slack)
        agent_texts = [f"agent {n}.{i}" for i in range(messages)]
        report.chatra_to_slack.duplicated += sum(1 for text in shown if text in agent_texts)
        sent = [
            data["text"]
            for key, data in membrane.runs
            if key == "send-agent-message" and data["clientId"] == f"client-{n:03d}"
        ]
        count(agent_texts, sent, report.slack_to_chatra)
