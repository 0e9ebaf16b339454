"""`chatra-bridge demo`: the real app against the built-in sandboxes of Slack and Membrane (no
accounts, no network, no settings). A short scripted chat is played, then printed as each side
saw it: the support channel in Slack (the card as a person sees it), what the bridge ran in
Membrane, and the visitor's chat in Chatra's widget."""

import asyncio
import json
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.trying.sandboxed import RunningApp, settings_for
from sandbox.chatra import chat_event
from sandbox.membrane import FakeMembrane
from sandbox.server import wait_for
from sandbox.slack import FakeSlack
from sandbox.slack_wire import Posted, thread_reply

CHANNEL, CONNECTION = "C0SUPPORT1", "conn-chatra-demo"
TOKEN, SIGNING, WEBHOOK = "xoxb-demo-bot-token", "demo-signing-secret", "demo-webhook-secret-0123"
# Sam's Slack email is the Chatra agent Sam's: he writes as that agent.
SAM = {"id": "U0DEMOSAM", "name": "sam", "profile": {"display_name": "Sam"}}
SAM["profile"]["email"] = "sam@example.org"
JANE = {
    "chatId": "demo-chat-1042",
    "name": "Jane Doe",
    "email": "jane@example.org",
    "phone": "+49 30 123",
    "chatStartUrl": "https://shop.example.org/orders",
    "chatStartTitle": "My orders",
    "city": "Berlin",
    "country": "Germany",
}
JANE_ID = "demo-jane"


class Demo:
    """The scripted chat: a visitor writes in Chatra, Sam answers from Slack."""

    def __init__(self, app: RunningApp, slack: FakeSlack, membrane: FakeMembrane) -> None:
        self.app, self.slack, self.membrane = app, slack, membrane
        self.visitor_lines: list[tuple[float, str]] = []  # what Jane wrote, and when
        self.deleted: dict[str, str] = {}  # Slack ts -> what Sam deleted
        self.thread_ts = ""
        self._ts = 1_800_000_000.0

    async def visitor_writes(self, text: str) -> None:
        print(f"→ Jane writes in the chat widget: “{text}”")
        now = time.time() * 1000
        self.visitor_lines.append((now, text))
        said = [{"type": "client", "text": text, "createdAt": now}]
        event = "chatFragment" if self.thread_ts else "chatStarted"
        body = chat_event(event, JANE_ID, said, **JANE)
        body["agents"] = [{"id": "a1", "name": "Sam", "email": "sam@example.org"}]
        await self.app.webhook(body)
        await self.until(lambda: text in self.chat(), "mirrored")
        self.thread_ts = self.thread_ts or self.slack.parents(CHANNEL)[0].ts

    async def agent_replies(self, text: str) -> str:
        print(f"→ Sam replies in the Slack thread: “{text}”")
        self._ts += 1
        ts = f"{self._ts:.6f}"
        sent = len(self.membrane.runs_of("send-agent-message"))
        self.slack.person_wrote(CHANNEL, ts, self.thread_ts, text, user=SAM["id"])
        await self.app.slack_event(self._message(ts, text), f"Ev{ts}")
        await self.until(lambda: len(self.membrane.runs_of("send-agent-message")) > sent, "sent")
        return ts

    async def agent_edits(self, ts: str, old: str, new: str) -> None:
        print(f"→ Sam edits it: “{new}”")
        self.slack.person_edited(CHANNEL, ts, new)
        event = {
            "type": "message",
            "subtype": "message_changed",
            "channel": CHANNEL,
            "message": {**self._message(ts, new), "edited": {"user": SAM["id"], "ts": ts}},
            "previous_message": self._message(ts, old),
        }
        await self.app.slack_event(event, f"Ev{ts}-edit")
        await self.until(lambda: new in self.membrane.visible_messages(JANE_ID), "edited")

    async def agent_deletes(self, ts: str, old: str) -> None:
        print(f"→ Sam deletes “{old}”")
        self.slack.person_deleted(CHANNEL, ts)
        self.deleted[ts] = old
        event = {
            "type": "message",
            "subtype": "message_deleted",
            "channel": CHANNEL,
            "deleted_ts": ts,
            "previous_message": self._message(ts, old),
        }
        await self.app.slack_event(event, f"Ev{ts}-delete")
        await self.until(lambda: old not in self.membrane.visible_messages(JANE_ID), "deleted")

    async def lookup(self) -> dict[str, Any]:
        print(f"→ Sam types /chatra lookup {JANE_ID}")
        await self.app.slash_command(f"lookup {JANE_ID}", user=SAM["id"])
        await self.until(lambda: self.slack.responses, "answered")
        return self.slack.responses[-1]

    def chat(self) -> list[str]:
        """What the channel shows of the chat: its card's opening, then its thread."""
        parents = self.slack.parents(CHANNEL)
        return self.slack.chat(CHANNEL, parents[0].ts) if parents else []

    def thread(self) -> list[Posted]:
        parents = self.slack.parents(CHANNEL)
        return self.slack.replies(CHANNEL, parents[0].ts) if parents else []

    async def until(self, condition: Any, what: str) -> None:
        await wait_for(condition, within=10, what=f"the bridge got it {what}")

    def _message(self, ts: str, text: str) -> dict[str, Any]:
        return thread_reply(CHANNEL, SAM["id"], text, ts, self.thread_ts)


async def play() -> Demo:
    slack = await FakeSlack(TOKEN, {CHANNEL}, {SAM["id"]: SAM}).start()
    membrane = await FakeMembrane(CONNECTION).start()
    membrane.clients[JANE_ID] = {"id": JANE_ID, **JANE, "visitsCount": 3}
    with tempfile.TemporaryDirectory(prefix="chatra-demo-") as workdir:
        settings = settings_for(
            slack,
            membrane,
            Path(workdir) / "demo.db",
            signing_secret=SIGNING,
            webhook_secret=WEBHOOK,
        )
        app = await RunningApp(settings).start()
        demo = Demo(app, slack, membrane)
        try:
            print("The bridge runs against local sandboxes of Slack and Membrane.\n")
            await demo.visitor_writes("Hi! My order #1042 hasn't arrived yet.")
            first = await demo.agent_replies("Hi Jane, let me check that for you.")
            await demo.agent_edits(
                first, "Hi Jane, let me check that for you.", "Hi Jane, I'm checking order #1042."
            )
            await demo.visitor_writes("Thanks! It was due on Monday.")
            oops = await demo.agent_replies("Refund approved")
            await demo.agent_deletes(oops, "Refund approved")
            await demo.agent_replies("It left our warehouse today: you'll have it tomorrow :truck:")
            answer = await demo.lookup()
            print()
            print_transcripts(demo, answer)
        finally:
            await app.close()
            await slack.stop()
            await membrane.stop()
    return demo


def print_transcripts(demo: Demo, lookup: dict[str, Any]) -> None:
    card = demo.slack.parents(CHANNEL)[0]
    print("== The support channel in Slack ==")
    for line in as_text(card.blocks or []):
        print(f"  │ {line}")
    for reply in sorted([*demo.thread(), *deleted_posts(demo)], key=lambda r: float(r.ts)):
        who = reply.author or ("Sam" if reply.user == SAM["id"] else "Chatra")
        if reply.ts in demo.deleted:
            print(f"  {who}: {reply.text}  (deleted in Slack: gone from Chatra too)")
            continue
        marks = " ".join(f":{name}:" for name in sorted(reply.reactions))
        edited = " (edited)" if reply.history else ""
        print(f"  {who}: {reply.text}{edited} {marks}".rstrip())
    print("\n== What the bridge ran in Membrane ==")
    for action, data in demo.membrane.runs:
        print(f"  {action} {json.dumps(data, ensure_ascii=False)}")
    print("\n== What Jane sees in Chatra ==")
    agent = [(m["createdAt"], f"Sam: {m['text']}") for m in demo.membrane.messages.values()]
    visitor = [(when, f"Jane: {text}") for when, text in demo.visitor_lines]
    for _, line in sorted(visitor + agent):
        print(f"  {line}")
    print(f"\n== /chatra lookup {JANE_ID} (only Sam sees it) ==")
    for line in as_text(lookup.get("blocks") or []):
        print(f"  {line}")


def deleted_posts(demo: Demo) -> list[Posted]:
    return [
        Posted(CHANNEL, ts, text, None, demo.thread_ts, {}, user=SAM["id"])
        for ts, text in demo.deleted.items()
    ]


def as_text(blocks: list[dict[str, Any]]) -> list[str]:
    """Block Kit as a person reads it: sections and their fields, grey context lines, buttons."""
    lines = []
    for block in blocks:
        if block.get("type") == "section":
            if block.get("text"):
                lines.append(block["text"]["text"])
            fields = [f["text"].replace("\n", ": ") for f in block.get("fields", [])]
            lines += [" · ".join(fields[i : i + 2]) for i in range(0, len(fields), 2)]
        elif block.get("type") == "context":  # a time as the reader's clock shows it
            said = [e["text"] for e in block.get("elements", []) if e.get("text")]
            lines += [re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", line) for line in said]
        elif block.get("type") == "actions":
            lines.append(" ".join(f"[{e['text']['text']}]" for e in block.get("elements", [])))
        elif block.get("type") == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
    return lines


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    try:
        asyncio.run(play())
    except TimeoutError as error:
        print(f"demo failed: {error}")
        return 1
    return 0
