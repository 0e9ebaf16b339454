"""`chatra-bridge sandbox`: the real server, on a port of this machine, against the sandboxes of
Slack and Membrane (on the next two ports), to try it by hand (curl is enough). The fakes gain a
few routes for a person: a visitor writes (the fake Chatra sends the bridge its webhook), what
the channel shows, a reply or a /chatra command as an agent, the agent's answer to a question
the bridge asked them alone, the chat as the visitor sees it."""

import asyncio
import json
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot import server
from bot.app import create_app
from bot.core.posting import post_keys
from bot.core.slack_ui.notices import KEEP_AS_NOTE, SEND_ANYWAY
from bot.sandboxed import settings_for
from sandbox.chatra import chat_event
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack
from sandbox.slack_wire import TEAM_ID, signed, thread_reply

CHANNEL, CONNECTION = "C0SANDBOX1", "conn-sandbox"
TOKEN, SIGNING, WEBHOOK = "xoxb-sandbox-token", "sandbox-signing-secret", "sandbox-webhook-0123456"
AGENT = {"id": "U0SANDBOX1", "name": "sam", "profile": {"display_name": "Sam"}}
AGENT["profile"]["email"] = "sam@example.org"
CHATRA_AGENT = {"id": "a1", "name": "Sam", "email": "sam@example.org"}  # Sam, as Chatra has him


async def _asked(request: web.Request, needed: str) -> dict[str, Any]:
    """The JSON object a person sent, with `needed` in it; a 400 saying what is wrong if not."""
    try:
        said = json.loads(await request.read())
    except ValueError:
        said = None
    if not isinstance(said, dict) or not isinstance(said.get(needed), str):
        example = json.dumps({needed: "..."})
        raise web.HTTPBadRequest(text=f"send a JSON object with {needed}, such as {example}\n")
    return said


class Playground:
    """The routes a person drives, and what the visitors wrote (the fake Chatra's side)."""

    def __init__(self, slack: FakeSlack, membrane: FakeMembrane, bridge: str) -> None:
        self.slack, self.membrane, self.bridge = slack, membrane, bridge
        self.visitors: dict[str, str] = {}  # visitor id -> name, while their chat is open
        self.written: list[tuple[int, str, str]] = []  # (ms, visitor id, text) a visitor wrote
        membrane.agents = {CHATRA_AGENT["id"]: CHATRA_AGENT}
        slack.app.router.add_get("/sandbox/channel", self.channel)
        slack.app.router.add_post("/sandbox/reply", self.reply)
        slack.app.router.add_post("/sandbox/command", self.command)
        slack.app.router.add_post("/sandbox/decide", self.decide)
        membrane.app.router.add_post("/sandbox/visitor", self.visitor)
        membrane.app.router.add_post("/sandbox/trigger", self.trigger)
        membrane.app.router.add_post("/sandbox/close", self.close)
        membrane.app.router.add_get("/sandbox/chats", self.chats)

    async def visitor(self, request: web.Request) -> web.Response:
        """A visitor writes in the widget (again after their chat closed: a new chat, which
        the bridge shows as a visitor who came back): Chatra sends the bridge its webhook."""
        said = await _asked(request, "text")
        message = {"type": "client", "text": said["text"]}
        return await self._chat_event(said, message)

    async def trigger(self, request: web.Request) -> web.Response:
        """Chatra's targeted auto-message greets a visitor (flagged isTrigger): no answer."""
        said = await _asked(request, "text")
        greeting = {"type": "agent", "agentId": CHATRA_AGENT["id"], "isTrigger": True}
        return await self._chat_event(said, greeting | {"text": said["text"]})

    async def close(self, request: web.Request) -> web.Response:
        """The visitor's chat ends, rated (`rating`, 1 to 5 or a word, and `comment`) or not:
        Chatra sends its transcript."""
        said = await _asked(request, "visitor")
        visitor = said["visitor"]
        if visitor not in self.visitors:
            raise web.HTTPBadRequest(text=f"no open chat of visitor {visitor!r}\n")
        name = self.visitors.pop(visitor)
        mine = [
            {"type": "client", "text": text, "createdAt": at}
            for at, who, text in self.written
            if who == visitor
        ]
        body = chat_event("chatTranscript", visitor, mine, name=name)
        body["agents"] = [CHATRA_AGENT]
        if said.get("rating") is not None:
            body["rating"] = {"value": said["rating"], "comment": str(said.get("comment") or "")}
        status = await self._send(f"/chatra/webhook/{WEBHOOK}", json.dumps(body).encode(), {})
        return web.json_response({"visitor": visitor, "bridge_answered": status})

    async def _chat_event(self, said: dict[str, Any], message: dict[str, Any]) -> web.Response:
        name = str(said.get("name") or "Jane")
        visitor = str(said.get("visitor") or name.lower().replace(" ", "-"))
        at = int(time.time() * 1000)
        event = "chatFragment" if visitor in self.visitors else "chatStarted"
        self.visitors[visitor] = name
        if message["type"] == "client":
            self.written.append((at, visitor, message["text"]))
        body = chat_event(event, visitor, [message | {"createdAt": at}], name=name)
        body["agents"] = [CHATRA_AGENT]
        status = await self._send(f"/chatra/webhook/{WEBHOOK}", json.dumps(body).encode(), {})
        return web.json_response({"visitor": visitor, "bridge_answered": status})

    async def channel(self, request: web.Request) -> web.Response:
        threads = [
            {
                "ts": card.ts,
                "card": card.text,
                "opens_with": card.joined,  # what the visitor wrote first, on the card itself
                "replies": [
                    {"ts": r.ts, "from": r.author or r.user or "bridge", "text": r.text}
                    for r in self.slack.replies(CHANNEL, card.ts)
                ],
                "only_you_see": [
                    told["text"]
                    for told in self.slack.ephemeral_posts
                    if told.get("thread_ts") == card.ts
                ],
            }
            for card in self.slack.parents(CHANNEL)
        ]
        return web.json_response(threads)

    async def reply(self, request: web.Request) -> web.Response:
        """An agent writes in a thread (the newest chat's unless `thread_ts` says which): Slack
        sends the bridge the event, signed."""
        said = await _asked(request, "text")
        thread_ts = said.get("thread_ts") or newest_chat(self.slack, CHANNEL)
        if not thread_ts:
            raise web.HTTPBadRequest(text="no chat yet: a visitor writes first\n")
        ts = f"{time.time():.6f}"
        user = said.get("user") or AGENT["id"]
        self.slack.person_wrote(CHANNEL, ts, thread_ts, said["text"], user=user)
        event = thread_reply(CHANNEL, user, said["text"], ts, thread_ts)
        body = json.dumps(
            {"type": "event_callback", "team_id": TEAM_ID, "event_id": f"Ev{ts}", "event": event}
        ).encode()
        status = await self._send("/slack/events", body, signed(SIGNING, body))
        return web.json_response({"ts": ts, "bridge_answered": status})

    async def command(self, request: web.Request) -> web.Response:
        """An agent types `/chatra <text>`: Slack sends the bridge the command, signed; what the
        agent is shown (at once, or a moment later through response_url)."""
        said = await _asked(request, "text")
        answered = len(self.slack.responses)
        form = {
            "command": "/chatra",
            "text": said["text"],
            "user_id": AGENT["id"],
            "channel_id": CHANNEL,
            "team_id": TEAM_ID,
            "response_url": f"{self.slack.url}/response/1",
            "trigger_id": f"{time.time():.6f}.sandbox",
        }
        body = urllib.parse.urlencode(form).encode()
        status, answer = await self._slack_form(body)
        if not answer:  # answered later, through response_url
            for _ in range(30):
                if len(self.slack.responses) > answered:
                    break
                await asyncio.sleep(0.1)
            later = self.slack.responses[answered:]
            answer = {"text": later[-1].get("text")} if later else None
        return web.json_response({"bridge_answered": status, "shown_to_you": answer})

    async def decide(self, request: web.Request) -> web.Response:
        """The agent answers the newest question the bridge asked them alone (a reply that
        mentions a teammate): `send` it to the visitor, or keep it as a `note`."""
        said = await _asked(request, "choice")
        wanted = {"send": SEND_ANYWAY, "note": KEEP_AS_NOTE}.get(said["choice"])
        asked = [told for told in self.slack.ephemeral_posts if told.get("blocks")]
        if wanted is None or not asked:
            raise web.HTTPBadRequest(text='a reply with a mention first; then "send" or "note"\n')
        actions = next(b for b in asked[-1]["blocks"] if b["type"] == "actions")["elements"]
        button = next(b for b in actions if b["action_id"] == wanted)
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": AGENT["id"]},
            "api_app_id": "A0SANDBOX",
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "is_ephemeral": True},
            "trigger_id": f"{time.time():.6f}.sandbox",
            "response_url": f"{self.slack.url}/response/2",
            "actions": [{**button, "block_id": "b1", "action_ts": f"{time.time():.6f}"}],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        status, _ = await self._slack_form(body)
        return web.json_response({"bridge_answered": status})

    async def chats(self, request: web.Request) -> web.Response:
        """Each visitor's chat as the widget shows it: both sides, in order."""
        lines = [(at, v, f"{self.visitors[v]}: {text}") for at, v, text in self.written]
        for m in self.membrane.messages.values():  # an agent's, not deleted
            agent = m.get("agentName") or self.membrane.agents.get(m["agentId"], {}).get("name")
            lines.append((m["createdAt"], m["clientId"], f"{agent or 'Agent'}: {m['text']}"))
        chats: dict[str, list[str]] = {}
        for _, visitor, line in sorted(lines, key=lambda line: line[0]):
            chats.setdefault(visitor, []).append(line)
        online = self.membrane.online_agents()
        widget = "online" if online else "offline: visitors are asked for an email"
        return web.json_response({"widget": widget, "agents_online": online, "chats": chats})

    async def _slack_form(self, body: bytes) -> tuple[int, Any]:
        """A form Slack posts to the bridge (a command, a click), signed: status and answer."""
        form = {"Content-Type": "application/x-www-form-urlencoded", **signed(SIGNING, body)}
        status, text = await self._post("/slack/events", body, form)
        return status, json.loads(text) if text.startswith("{") else None

    async def _send(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """A JSON body sent to the bridge: its status."""
        status, _ = await self._post(path, body, {"Content-Type": "application/json", **headers})
        return status

    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.bridge + path, data=body, headers=headers) as answer,
        ):
            return answer.status, await answer.text()


def newest_chat(slack: FakeSlack, channel: str) -> str | None:
    """The ts of the newest chat's card in `channel`: never a digest, a notice or an internal
    discussion, which are top-level posts too."""
    cards = [
        post.ts
        for post in slack.parents(channel)
        if any(post_keys.is_card(key) for key in post.keys)
    ]
    return cards[-1] if cards else None


def instructions(bridge: str, slack: FakeSlack, membrane: FakeMembrane) -> str:
    return f"""chatra-bridge sandbox: the real bridge at {bridge}, Slack and Membrane faked here.

  A visitor writes in the chat widget (the fake Chatra sends the bridge its webhook):
    curl -s {membrane.url}/sandbox/visitor -d '{{"name": "Jane", "text": "Hello? Anyone there?"}}'
  What the support channel shows (each chat a card with its thread):
    curl -s {slack.url}/sandbox/channel
  An agent answers in the newest chat's thread (add "thread_ts" for another; Slack signs it):
    curl -s {slack.url}/sandbox/reply -d '{{"text": "Hi Jane!"}}'
  Save a reply, then send it with ;name (or a /chatra command of your choice):
    curl -s {slack.url}/sandbox/command -d '{{"text": "saved add hello Hi {{visitor}}!"}}'
    curl -s {slack.url}/sandbox/reply -d '{{"text": ";hello"}}'
  A reply naming a teammate is held until you choose ("send" or "note"):
    curl -s {slack.url}/sandbox/reply -d '{{"text": "<@U0SANDBOX2> can you take this?"}}'
    curl -s {slack.url}/sandbox/decide -d '{{"choice": "note"}}'
  Chatra greets a visitor automatically (shown marked; it answers nothing):
    curl -s {membrane.url}/sandbox/trigger -d '{{"name": "Bob", "text": "Need a hand?"}}'
  The chat ends with a low rating (the team is told); Jane writing again comes back:
    curl -s {membrane.url}/sandbox/close -d '{{"visitor": "jane", "rating": 1, "comment": "Slow"}}'
  The chat as the visitor sees it in Chatra, and whether its widget is online (Sam is, while
  on call, or after answering; `/chatra away` and `/chatra who` work too):
    curl -s {membrane.url}/sandbox/chats
  The bridge's health and metrics: {bridge}/healthz and {bridge}/metrics
Ctrl-C stops it all."""


async def run(port: int) -> None:
    """The bridge on `port`, the fake Slack on the next one, the fake Membrane on the one after."""
    sock = server.bind("127.0.0.1", port)
    port = sock.getsockname()[1]
    bridge = f"http://127.0.0.1:{port}"
    slack = FakeSlack(TOKEN, {CHANNEL}, {AGENT["id"]: AGENT})
    membrane = FakeMembrane(CONNECTION)
    online_action = membrane.make_online_action()
    Playground(slack, membrane, bridge)
    for fake, its_port in ((slack, port + 1), (membrane, port + 2)):
        try:
            await fake.start(its_port)
        except OSError as error:
            raise server.CannotListen("127.0.0.1", its_port, error) from None
    membrane.echo_to = f"{bridge}/chatra/webhook/{WEBHOOK}"
    with tempfile.TemporaryDirectory(prefix="chatra-sandbox-") as workdir:
        settings = settings_for(
            slack,
            membrane,
            Path(workdir) / "sandbox.db",
            signing_secret=SIGNING,
            webhook_secret=WEBHOOK,
            public_url=bridge,
            chatra_online_action=online_action,
            chatra_online_every_seconds=10,  # seen online within seconds of answering
            escalation_check_seconds=2,
            chat_idle_gap_hours=1e-7,  # a visitor writing after their chat closed comes back
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
        print(f"Cannot start: {taken}: give another --port (it and the next two are used)")
        return 2
    return 0
