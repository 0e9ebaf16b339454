"""`chatra-bridge sandbox`: the real server, on a port of this machine, against the sandboxes of
Slack and Membrane, to try its HTTP surface by hand (curl is enough). The fakes gain a few
routes for a person: what the channel shows, a reply as an agent, what the visitor sees."""

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot import server
from bot.app import create_app
from bot.sandboxed import settings_for
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack
from sandbox.slack_wire import TEAM_ID, slack_signature, thread_reply

CHANNEL, CONNECTION = "C0SANDBOX1", "conn-sandbox"
TOKEN, SIGNING, WEBHOOK = "xoxb-sandbox-token", "sandbox-signing-secret", "sandbox-webhook-0123456"
AGENT = {"id": "U0SANDBOX1", "name": "sam", "profile": {"display_name": "Sam"}}
AGENT["profile"]["email"] = "sam@example.org"


def add_routes(slack: FakeSlack, membrane: FakeMembrane, events_url: str) -> None:
    """GET /sandbox/channel and POST /sandbox/reply on the fake Slack; GET /sandbox/chats on the
    fake Membrane."""

    async def channel(request: web.Request) -> web.Response:
        threads = [
            {
                "ts": card.ts,
                "card": card.text,
                "replies": [
                    {"ts": r.ts, "from": r.author or r.user or "bridge", "text": r.text}
                    for r in slack.replies(CHANNEL, card.ts)
                ],
            }
            for card in slack.parents(CHANNEL)
        ]
        return web.json_response(threads)

    async def reply(request: web.Request) -> web.Response:
        """An agent writes in a thread: Slack sends the bridge the event, signed."""
        said = json.loads(await request.read())
        ts = f"{time.time():.6f}"
        user = said.get("user") or AGENT["id"]
        slack.person_wrote(CHANNEL, ts, said["thread_ts"], said["text"], user=user)
        event = thread_reply(CHANNEL, user, said["text"], ts, said["thread_ts"])
        body = json.dumps(
            {"type": "event_callback", "team_id": TEAM_ID, "event_id": f"Ev{ts}", "event": event}
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(SIGNING, stamp, body),
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(events_url, data=body, headers=headers) as answer,
        ):
            return web.json_response({"ts": ts, "bridge_answered": answer.status})

    async def chats(request: web.Request) -> web.Response:
        visitors = {m["clientId"] for m in membrane.messages.values()}
        return web.json_response({v: membrane.visible_messages(v) for v in sorted(visitors)})

    slack.app.router.add_get("/sandbox/channel", channel)
    slack.app.router.add_post("/sandbox/reply", reply)
    membrane.app.router.add_get("/sandbox/chats", chats)


def instructions(bridge: str, slack: FakeSlack, membrane: FakeMembrane) -> str:
    said = {"type": "client", "text": "Hello? Is anyone there?"}
    webhook: dict[str, Any] = {"eventName": "chatStarted", "client": {"id": "c1", "name": "Jane"}}
    webhook["messages"] = [said]
    return f"""chatra-bridge sandbox: the real bridge at {bridge}, Slack and Membrane faked here.

  A visitor writes (Chatra's webhook):
    curl -s {bridge}/chatra/webhook/{WEBHOOK} -d '{json.dumps(webhook)}'
  What the support channel shows (the card's ts is the thread to answer in):
    curl -s {slack.url}/sandbox/channel
  An agent answers in the thread (the fake Slack signs the event and sends it to the bridge):
    curl -s {slack.url}/sandbox/reply -d '{{"thread_ts": "<the card's ts>", "text": "Hi Jane!"}}'
  What the visitor sees in Chatra:
    curl -s {membrane.url}/sandbox/chats
  The bridge's health and metrics: {bridge}/healthz and {bridge}/metrics
Ctrl-C stops it all."""


async def run(port: int) -> None:
    slack = FakeSlack(TOKEN, {CHANNEL}, {AGENT["id"]: AGENT})
    membrane = FakeMembrane(CONNECTION)
    sock = server.bind("127.0.0.1", port)
    bridge = f"http://127.0.0.1:{sock.getsockname()[1]}"
    add_routes(slack, membrane, f"{bridge}/slack/events")
    await slack.start()
    await membrane.start()
    membrane.echo_to = f"{bridge}/chatra/webhook/{WEBHOOK}"
    with tempfile.TemporaryDirectory(prefix="chatra-sandbox-") as workdir:
        settings = settings_for(
            slack,
            membrane,
            Path(workdir) / "sandbox.db",
            signing_secret=SIGNING,
            webhook_secret=WEBHOOK,
            public_url=bridge,
        )
        print(instructions(bridge, slack, membrane), flush=True)
        try:
            await server.serve(create_app(settings), sock, per_address=0)
        finally:
            await slack.stop()
            await membrane.stop()


def main(port: int) -> int:
    try:
        asyncio.run(run(port))
    except server.CannotListen as taken:
        print(f"Cannot start: {taken}: give another --port", flush=True)
        return 2
    return 0
