"""`chatra-bridge demo`: the real app against the built-in sandboxes of Slack and Membrane (no
accounts, no network). A short scripted chat is played, then the conversation is printed as each
side saw it: the support channel in Slack, and the visitor in Chatra's widget."""

import asyncio
import json
import logging
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import create_app
from bot.sandboxed import settings_for
from sandbox.membrane import FakeMembrane
from sandbox.server import serve_locally, wait_for
from sandbox.slack import FakeSlack
from sandbox.slack_wire import TEAM_ID, slack_signature

CHANNEL, CONNECTION = "C0SUPPORT1", "conn-chatra-demo"
TOKEN, SIGNING, WEBHOOK = "xoxb-demo-bot-token", "demo-signing-secret", "demo-webhook-secret-0123"
SAM = {"id": "U0DEMOSAM", "name": "sam", "profile": {"display_name": "Sam"}}
SAM["profile"]["email"] = "sam@example.org"  # the same email as Chatra agent Sam: Sam writes as him
JANE = {
    "id": "demo-jane",
    "chatId": "demo-chat-1042",
    "basicId": 1042,
    "name": "Jane Doe",
    "email": "jane@example.org",
    "chatStartUrl": "https://shop.example.org/orders",
    "chatStartTitle": "My orders",
    "city": "Berlin",
    "country": "Germany",
}


class Demo:
    def __init__(self, slack: FakeSlack, membrane: FakeMembrane, url: str, say: Callable) -> None:
        self.slack, self.membrane, self.url, self.say = slack, membrane, url, say
        self.http = aiohttp.ClientSession()
        self.visitor_lines: list[tuple[float, str]] = []  # what Jane wrote, and when
        self.thread_ts = ""
        self._ts = 1_800_000_000.0

    async def visitor_writes(self, message_id: str, text: str) -> None:
        self.say(f"→ Jane writes in the chat widget: “{text}”")
        now = time.time() * 1000
        self.visitor_lines.append((now, text))
        message = {"id": message_id, "type": "client", "message": text, "createdAt": now}
        event = "chatFragment" if self.thread_ts else "chatStarted"
        agents = [{"id": "a1", "name": "Sam", "email": "sam@example.org"}]
        body = {"eventName": event, "client": JANE, "messages": [message], "agents": agents}
        await self._post(f"/chatra/webhook/{WEBHOOK}", json.dumps(body).encode(), "json")
        await self.until(lambda: any(r.text == text for r in self.thread()), "mirrored")
        self.thread_ts = self.thread_ts or self.slack.parents(CHANNEL)[0].ts

    async def agent_replies(self, text: str) -> str:
        self.say(f"→ Sam replies in the Slack thread: “{text}”")
        self._ts += 1
        ts = f"{self._ts:.6f}"
        sent = len(self.membrane.runs_of("send-agent-message"))
        self.slack.person_wrote(CHANNEL, ts, self.thread_ts, text, user=SAM["id"])
        await self._event(self._message(ts, text), f"Ev{ts}")
        await self.until(lambda: len(self.membrane.runs_of("send-agent-message")) > sent, "sent")
        return ts

    async def agent_edits(self, ts: str, old: str, new: str) -> None:
        self.say(f"→ Sam edits it: “{new}”")
        self.slack.person_edited(CHANNEL, ts, new)
        event = {
            "type": "message",
            "subtype": "message_changed",
            "channel": CHANNEL,
            "message": {**self._message(ts, new), "edited": {"user": SAM["id"], "ts": ts}},
            "previous_message": self._message(ts, old),
        }
        await self._event(event, f"Ev{ts}-edit")
        await self.until(lambda: new in self.membrane.visible_messages(JANE["id"]), "edited")

    async def agent_deletes(self, ts: str, old: str) -> None:
        self.say(f"→ Sam deletes “{old}”")
        self.slack.person_deleted(CHANNEL, ts)
        event = {
            "type": "message",
            "subtype": "message_deleted",
            "channel": CHANNEL,
            "deleted_ts": ts,
            "previous_message": self._message(ts, old),
        }
        await self._event(event, f"Ev{ts}-delete")
        await self.until(lambda: old not in self.membrane.visible_messages(JANE["id"]), "deleted")

    async def lookup(self) -> dict[str, Any]:
        self.say(f"→ Sam types /chatra lookup {JANE['id']}")
        form = {
            "command": "/chatra",
            "text": f"lookup {JANE['id']}",
            "user_id": SAM["id"],
            "channel_id": CHANNEL,
            "team_id": TEAM_ID,
            "response_url": self.slack.url + "/response/1",
            "trigger_id": "1.2.3",
        }
        await self._post("/slack/events", urllib.parse.urlencode(form).encode(), "form")
        await self.until(lambda: self.slack.responses, "answered")
        return self.slack.responses[-1]

    def thread(self) -> list[Any]:
        parents = self.slack.parents(CHANNEL)
        return self.slack.replies(CHANNEL, parents[0].ts) if parents else []

    async def until(self, condition: Callable[[], Any], what: str) -> None:
        await wait_for(condition, within=10, what=f"the bridge got it {what}")

    def _message(self, ts: str, text: str) -> dict[str, Any]:
        return {
            "type": "message",
            "channel": CHANNEL,
            "user": SAM["id"],
            "text": text,
            "ts": ts,
            "thread_ts": self.thread_ts,
        }

    async def _event(self, event: dict[str, Any], event_id: str) -> None:
        body = {"type": "event_callback", "team_id": TEAM_ID, "event_id": event_id, "event": event}
        await self._post("/slack/events", json.dumps(body).encode(), "json")

    async def _post(self, path: str, body: bytes, kind: str) -> None:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json"
            if kind == "json"
            else "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(SIGNING, stamp, body),
        }
        async with self.http.post(self.url + path, data=body, headers=headers) as response:
            if response.status >= 300:
                raise RuntimeError(f"{path} answered {response.status}: {await response.text()}")


async def play(say: Callable[[str], None] = print) -> None:
    slack = await FakeSlack(TOKEN, {CHANNEL}, {SAM["id"]: SAM}).start()
    membrane = await FakeMembrane(CONNECTION).start()
    membrane.clients[JANE["id"]] = {**JANE, "visitsCount": 3, "phone": "+49 30 1234567"}
    with tempfile.TemporaryDirectory(prefix="chatra-demo-") as workdir:
        settings = settings_for(
            slack,
            membrane,
            Path(workdir) / "demo.db",
            signing_secret=SIGNING,
            webhook_secret=WEBHOOK,
        )
        runner, url = await serve_locally(create_app(settings))
        demo = Demo(slack, membrane, url, say)
        try:
            say("The bridge runs against local sandboxes of Slack and Membrane.\n")
            await demo.visitor_writes("m1", "Hi! My order #1042 hasn't arrived yet.")
            first = await demo.agent_replies("Hi Jane, let me check that for you.")
            await demo.agent_edits(
                first, "Hi Jane, let me check that for you.", "Hi Jane, I'm checking order #1042."
            )
            await demo.visitor_writes("m2", "Thanks! It was due on Monday.")
            oops = await demo.agent_replies("Refund approved")
            await demo.agent_deletes(oops, "Refund approved")
            await demo.agent_replies("It left our warehouse today: you'll have it tomorrow :truck:")
            answer = await demo.lookup()
            say("")
            say_transcripts(demo, answer, say)
        finally:
            await demo.http.close()
            await runner.cleanup()
            await slack.stop()
            await membrane.stop()


def say_transcripts(demo: Demo, lookup: dict[str, Any], say: Callable[[str], None]) -> None:
    card = demo.slack.parents(CHANNEL)[0]
    say("== The support channel in Slack ==")
    say(f"[card] {card.text}")
    for reply in demo.thread():
        who = reply.author or ("Sam" if reply.user == SAM["id"] else "Chatra")
        marks = " ".join(f":{name}:" for name in sorted(reply.reactions))
        edited = " (edited)" if reply.history else ""
        say(f"  {who}: {reply.text}{edited} {marks}".rstrip())
    say("\n== What Jane sees in Chatra ==")
    agent = [(m["createdAt"], f"Sam: {m['text']}") for m in demo.membrane.messages.values()]
    visitor = [(when, f"Jane: {text}") for when, text in demo.visitor_lines]
    for _, line in sorted(visitor + agent):
        say(f"  {line}")
    say(f"\n== /chatra lookup {JANE['id']} (only Sam sees it) ==")
    for block in lookup.get("blocks") or []:
        texts = [block.get("text") or {}, *block.get("fields", []), *block.get("elements", [])]
        for text in texts:
            if isinstance(text, dict) and text.get("text"):
                say("  " + text["text"].replace("\n", ": "))


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    try:
        asyncio.run(play())
    except TimeoutError as error:
        print(f"demo failed: {error}")
        return 1
    return 0
