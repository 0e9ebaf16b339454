"""What a person does in the sandbox, as Slack and Chatra would send it to the real bridge: a
visitor writes (Chatra's webhook), a teammate replies, edits, deletes, reacts, clicks a button,
fills a modal, types /chatra, opens App Home (Slack's signed requests). Each act takes and
gives JSON, for the page (`bot.trying.sandbox_page`) and for `curl` alike."""

import asyncio
import json
import time
import urllib.parse
from typing import Any

import aiohttp

from bot.core.posting import post_keys
from bot.core.slack_ui.ids import KEEP_AS_NOTE, SEND_ANYWAY
from sandbox.chatra import chat_event
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack
from sandbox.slack_wire import (
    TEAM_ID,
    block_actions,
    reply_deleted,
    reply_edited,
    signed,
    slash_command,
    thread_reply,
    view_submission,
)

CHANNEL, SIGNING, WEBHOOK = "C0SANDBOX1", "sandbox-signing-secret", "sandbox-webhook-0123456"
TEAM = {  # the two teammates a person can act as
    f"U0SANDBOX{n}": {
        "id": f"U0SANDBOX{n}",
        "name": name.lower(),
        "profile": {"display_name": name, "email": f"{name.lower()}@example.org"},
    }
    for n, name in ((1, "Sam"), (2, "Kim"))
}
SAM = "U0SANDBOX1"
CHATRA_AGENTS = [  # the team as Chatra has it (its webhooks list them)
    {"id": "a1", "name": "Sam", "email": "sam@example.org"},
    {"id": "a2", "name": "Kim", "email": "kim@example.org"},
]


class Refused(ValueError):
    """What the person asked cannot be done: said back in words (a 400)."""


def needs(said: dict[str, Any], *names: str) -> None:
    for name in names:
        if not isinstance(said.get(name), str) or not said[name]:
            example = json.dumps(dict.fromkeys(names, "..."))
            raise Refused(f"send a JSON object with {name}, such as {example}")


class Playground:
    def __init__(self, slack: FakeSlack, membrane: FakeMembrane, bridge: str) -> None:
        self.slack, self.membrane, self.bridge = slack, membrane, bridge
        self.visitors: dict[str, str] = {}  # visitor id -> name, while their chat is open
        self.names: dict[str, str] = {}  # every visitor's name, open chat or not
        # what a visitor saw besides the agents' messages: (ms, visitor, who, text)
        self.written: list[tuple[int, str, str, str]] = []
        self.triggers: dict[str, str] = {}  # trigger id -> who clicked or typed
        self.told: list[dict[str, Any]] = []  # command answers: {user, text, blocks}
        self.answered: set[int] = set()  # ephemeral questions (by index) a person answered
        membrane.agents = {agent["id"]: agent for agent in CHATRA_AGENTS}

    # -- Chatra's side: the website's chat widget --

    async def visitor(self, said: dict[str, Any]) -> dict[str, Any]:
        """A visitor writes (again after their chat closed: a new chat, which the bridge shows
        as a visitor who came back)."""
        needs(said, "text")
        return await self._chat_event(said, {"type": "client", "text": said["text"]})

    async def trigger(self, said: dict[str, Any]) -> dict[str, Any]:
        """Chatra's targeted auto-message greets a visitor (flagged isTrigger): no answer."""
        needs(said, "text")
        greeting = {"type": "agent", "agentId": "a1", "isTrigger": True, "text": said["text"]}
        return await self._chat_event(said, greeting)

    async def close(self, said: dict[str, Any]) -> dict[str, Any]:
        """The visitor's chat ends, rated (`rating`: 1 to 5 or a word; `comment`) or not."""
        needs(said, "visitor")
        visitor = said["visitor"]
        if visitor not in self.visitors:
            raise Refused(f"no open chat of visitor {visitor!r}")
        name = self.visitors.pop(visitor)
        theirs = [
            {"type": "client", "text": text, "createdAt": at}
            for at, who, by, text in self.written
            if who == visitor and by == name
        ]
        body = chat_event("chatTranscript", visitor, theirs, name=name)
        if said.get("rating") not in (None, ""):
            body["rating"] = {"value": said["rating"], "comment": str(said.get("comment") or "")}
        return {"visitor": visitor, "bridge_answered": await self._webhook(body)}

    async def _chat_event(self, said: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        name = str(said.get("name") or "Jane")
        visitor = str(said.get("visitor") or name.lower().replace(" ", "-"))
        at = int(time.time() * 1000)
        event = "chatFragment" if visitor in self.visitors else "chatStarted"
        self.visitors[visitor] = self.names[visitor] = name
        by = name if message["type"] == "client" else "Sam (automatic message)"
        self.written.append((at, visitor, by, message["text"]))
        body = chat_event(event, visitor, [message | {"createdAt": at}], name=name)
        self.membrane.clients.setdefault(visitor, {"id": visitor, "name": name})
        return {"visitor": visitor, "bridge_answered": await self._webhook(body)}

    async def _webhook(self, body: dict[str, Any]) -> int:
        body["agents"] = CHATRA_AGENTS
        status, _ = await self._post(
            f"/chatra/webhook/{WEBHOOK}", json.dumps(body).encode(), "application/json"
        )
        return status

    def chats(self) -> dict[str, Any]:
        """Each visitor's chat as the widget shows it, both sides in order; the widget online
        or offline."""
        lines = list(self.written)
        agents = {agent["id"]: agent["name"] for agent in CHATRA_AGENTS}
        for m in [*self.membrane.messages.values(), *self.membrane.pushed.values()]:
            agent = m.get("agentName") or agents.get(m.get("agentId") or "", "Agent")
            lines.append((m.get("createdAt") or 0, m["clientId"], agent, m["text"]))
        chats: dict[str, list[str]] = {}
        for _, visitor, by, text in sorted(lines, key=lambda line: line[0]):
            chats.setdefault(visitor, []).append(f"{by}: {text}")
        online = self.membrane.online_agents()
        widget = "online" if online else "offline: visitors are asked for an email"
        return {"widget": widget, "agents_online": online, "chats": chats}

    # -- Slack's side: what a teammate does --

    async def reply(self, said: dict[str, Any]) -> dict[str, Any]:
        """A reply in a thread (the newest chat's unless `thread_ts` says which)."""
        needs(said, "text")
        thread_ts = said.get("thread_ts") or newest_chat(self.slack)
        if not thread_ts:
            raise Refused("no chat yet: a visitor writes first")
        ts, user = self._ts(), said.get("user") or SAM
        self.slack.person_wrote(CHANNEL, ts, thread_ts, said["text"], user=user)
        event = thread_reply(CHANNEL, user, said["text"], ts, thread_ts)
        return {"ts": ts, "bridge_answered": await self._event(event)}

    async def edit(self, said: dict[str, Any]) -> dict[str, Any]:
        needs(said, "ts", "text")
        posted, user = self._own(said)
        thread_ts = str(posted.thread_ts)
        event = reply_edited(CHANNEL, user, thread_ts, posted.ts, posted.text, said["text"])
        self.slack.person_edited(CHANNEL, posted.ts, said["text"])
        return {"bridge_answered": await self._event(event)}

    async def delete(self, said: dict[str, Any]) -> dict[str, Any]:
        needs(said, "ts")
        posted, user = self._own(said)
        event = reply_deleted(CHANNEL, user, str(posted.thread_ts), posted.ts, posted.text)
        self.slack.person_deleted(CHANNEL, posted.ts)
        return {"bridge_answered": await self._event(event)}

    def _own(self, said: dict[str, Any]) -> tuple[Any, str]:
        user = said.get("user") or SAM
        posted = next((m for m in self.slack.messages if m.ts == said["ts"]), None)
        if posted is None or posted.user != user:
            raise Refused("only your own replies can be changed")
        return posted, user

    async def react(self, said: dict[str, Any]) -> dict[str, Any]:
        """A ✅ added to a message (or taken off, `on` false)."""
        needs(said, "ts")
        user, on, name = said.get("user") or SAM, said.get("on", True), "white_check_mark"
        self.slack.person_reacted(CHANNEL, said["ts"], name, user, on=bool(on))
        event = {
            "type": "reaction_added" if on else "reaction_removed",
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": CHANNEL, "ts": said["ts"]},
            "event_ts": self._ts(),
        }
        return {"bridge_answered": await self._event(event)}

    async def home(self, said: dict[str, Any]) -> dict[str, Any]:
        """The teammate opens the app's Home tab."""
        user = said.get("user") or SAM
        event = {"type": "app_home_opened", "user": user, "channel": "D0SANDBOX1", "tab": "home"}
        return {"bridge_answered": await self._event(event)}

    async def command(self, said: dict[str, Any]) -> dict[str, Any]:
        """`/chatra <text>`: what the teammate is shown (at once, or a moment later through
        response_url)."""
        needs(said, "text")
        user, answered = said.get("user") or SAM, len(self.slack.responses)
        response_url = f"{self.slack.url}/response/1"
        form = slash_command(said["text"], user, CHANNEL, self._trigger(user), response_url)
        status, answer = await self._form(urllib.parse.urlencode(form).encode())
        if not answer:  # answered later, through response_url
            for _ in range(30):
                if len(self.slack.responses) > answered:
                    break
                await asyncio.sleep(0.1)
            later = self.slack.responses[answered:]
            answer = later[-1] if later else None
        if answer:
            shown = {"user": user, "text": answer.get("text"), "blocks": answer.get("blocks")}
            self.told.append(shown)
        return {"bridge_answered": status, "shown_to_you": answer}

    async def click(self, said: dict[str, Any]) -> dict[str, Any]:
        """A Block Kit button clicked: on a message (`ts`), a question only the teammate sees
        (`ephemeral`, its index), a modal or App Home (`view_id`)."""
        button = said.get("button")
        if not isinstance(button, dict) or not button.get("action_id"):
            raise Refused("send the button clicked, as the blocks have it")
        user = said.get("user") or SAM
        response_url = f"{self.slack.url}/response/2"
        payload = block_actions(button, user, CHANNEL, self._trigger(user), response_url)
        if said.get("view_id"):
            view = self.slack.views.get(said["view_id"]) or {"id": said["view_id"], "type": "home"}
            payload |= {"container": {"type": "view", "view_id": view["id"]}, "view": view}
        elif said.get("ephemeral") is not None:
            self.answered.add(int(said["ephemeral"]))
            payload["container"] = {"type": "message", "is_ephemeral": True}
        else:
            needs(said, "ts")
            payload["message"] = {"ts": said["ts"], "type": "message"}
            payload["container"] = {"type": "message", "message_ts": said["ts"]}
        status, _ = await self._form(urllib.parse.urlencode({"payload": json.dumps(payload)}))
        return {"bridge_answered": status}

    async def submit(self, said: dict[str, Any]) -> dict[str, Any]:
        """A modal's inputs filled (`values`: block id -> text) and its submit pressed."""
        needs(said, "view_id")
        view = self.slack.views.get(said["view_id"])
        if view is None:
            raise Refused("that modal is closed")
        user, given = said.get("user") or SAM, said.get("values") or {}
        values = {
            block["block_id"]: str(given.get(block["block_id"], ""))
            for block in view.get("blocks", [])
            if block.get("type") == "input"
        }
        payload = view_submission(view, values, user, self._trigger(user))
        status, answer = await self._form(urllib.parse.urlencode({"payload": json.dumps(payload)}))
        errors = (answer or {}).get("errors") if isinstance(answer, dict) else None
        if not errors:
            self.slack.views.pop(said["view_id"], None)
        return {"bridge_answered": status, "errors": errors}

    async def cancel(self, said: dict[str, Any]) -> dict[str, Any]:
        self.slack.views.pop(str(said.get("view_id")), None)
        return {"closed": True}

    async def decide(self, said: dict[str, Any]) -> dict[str, Any]:
        """The newest question the bridge asked the teammate alone: `send` or `note`."""
        needs(said, "choice")
        wanted = {"send": SEND_ANYWAY, "note": KEEP_AS_NOTE}.get(said["choice"])
        asked = [
            (n, told)
            for n, told in enumerate(self.slack.ephemeral_posts)
            if told.get("blocks") and n not in self.answered
        ]
        if wanted is None or not asked:
            raise Refused('a reply with a mention first; then "send" or "note"')
        n, question = asked[-1]
        actions = next(b for b in question["blocks"] if b["type"] == "actions")["elements"]
        button = next(b for b in actions if b["action_id"] == wanted)
        return await self.click({"button": button, "ephemeral": n, "user": said.get("user")})

    # -- to the bridge --

    def _trigger(self, user: str) -> str:
        trigger = f"{time.time():.6f}.{len(self.triggers)}.sandbox"
        self.triggers[trigger] = user
        return trigger

    def _ts(self) -> str:
        return f"{time.time():.6f}"

    async def _event(self, event: dict[str, Any]) -> int:
        body = {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "event_id": f"Ev{self._ts().replace('.', '')}{len(self.triggers)}",
            "event": event,
        }
        status, _ = await self._post("/slack/events", json.dumps(body).encode(), JSON)
        return status

    async def _form(self, body: bytes | str) -> tuple[int, Any]:
        """A form Slack posts to the bridge (a command, a click), signed: status and answer."""
        data = body.encode() if isinstance(body, str) else body
        status, text = await self._post("/slack/events", data, FORM)
        return status, json.loads(text) if text.startswith("{") else None

    async def _post(self, path: str, body: bytes, content_type: str) -> tuple[int, str]:
        headers = {"Content-Type": content_type}
        if path.startswith("/slack/"):
            headers |= signed(SIGNING, body)
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.bridge + path, data=body, headers=headers) as answer,
        ):
            return answer.status, await answer.text()


JSON, FORM = "application/json", "application/x-www-form-urlencoded"


def newest_chat(slack: FakeSlack, channel: str = CHANNEL) -> str | None:
    """The ts of the newest chat's card: never a digest, a notice or an internal discussion,
    which are top-level posts too."""
    cards = [p.ts for p in slack.parents(channel) if any(post_keys.is_card(k) for k in p.keys)]
    return cards[-1] if cards else None
