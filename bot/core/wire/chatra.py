"""Chatra webhooks as they really come: read with the same limits at intake and in the worker,
liberal in what they accept (see ../shared/reference/chatra.md).

A webhook is refused (4xx) only when it cannot be a Chatra webhook at all: not JSON, no
`eventName`, no client id, too big or too deep. Inside an accepted webhook, one odd message
never costs the others: it is left out, with the reason, and the rest are carried out.
"""

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.wire.lenient import Lenient
from bot.core.wire.rating import Rating, rating_of
from bot.core.wire.slack import repaired
from bot.core.wire.text import shown_name

CHAT_EVENTS = ("chatStarted", "chatFragment", "chatTranscript")
MAX_BODY = 1024 * 1024
MAX_DEPTH = 32  # a real webhook nests 4 or 5 levels (messages -> message -> file -> imageInfo)
CONTACT_SOURCES = ("basicInfo", "info", "integrationData")  # where Chatra keeps contact details
DERIVED_KEY = "auto:"
# A message's flags (Chatra's successor API) that say no person wrote it, and what it is then.
AUTOMATIC = {
    "isTrigger": "automatic message",
    "isBot": "bot",
    "isPushed": "pushed message",
}  # a message key made by us, not an id Chatra gave
# What a person can change of a visitor (update-client): the form's label, Chatra's limit.
VISITOR_FIELDS = {"name": ("Name", 100), "email": ("Email", 254), "phone": ("Phone", 50)}
VISITOR_FIELDS |= {"notes": ("Notes", 2000)}


class NotAWebhook(ValueError):
    """The body cannot be a Chatra webhook: refused with `status` and a reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def parse_webhook_body(raw: bytes | str) -> dict[str, Any]:
    """The webhook's JSON, or NotAWebhook. Intake and worker both read a body through here, so
    what was acknowledged can always be read again."""
    if len(raw) > MAX_BODY:
        raise NotAWebhook(413, f"body over {MAX_BODY} bytes")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise NotAWebhook(400, f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:  # UnicodeDecodeError is one too
        raise NotAWebhook(400, f"body is not JSON: {str(error)[:200]}") from None
    if _depth(data) > MAX_DEPTH:
        raise NotAWebhook(400, f"JSON nested deeper than {MAX_DEPTH} levels")
    data = repaired(data)
    if not isinstance(data, dict) or not isinstance(data.get("eventName"), str):
        raise NotAWebhook(422, "not a Chatra webhook: eventName missing")
    if data["eventName"] in CHAT_EVENTS and client_id_of(data) is None:
        raise NotAWebhook(422, "not a Chatra webhook: client.id missing")
    return data


def client_id_of(data: dict[str, Any]) -> str | None:
    client = data.get("client")
    value = client.get("id") if isinstance(client, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and 0 < len(value) <= 200 else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """How deep containers nest, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


class ChatraClient(Lenient):
    """A website visitor. Only `id` is sure to be there. Contact details are read from the top
    level first, then from `basicInfo`, `info` and `integrationData`, where Chatra keeps them."""

    TEXT = ("chatId", "name", "displayedName", "email", "phone", "notes", "chatStartUrl")
    TEXT += ("chatStartTitle", "country", "city", "groupId", "language")
    id: str = Field(min_length=1, max_length=200)
    chatId: str | None = None
    basicId: int | str | None = None
    name: str | None = None
    displayedName: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None
    chatStartUrl: str | None = None
    chatStartTitle: str | None = None
    country: str | None = None
    city: str | None = None
    groupId: str | None = None
    language: str | None = None

    @classmethod
    def prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        if isinstance(data.get("id"), int) and not isinstance(data["id"], bool):
            data["id"] = str(data["id"])
        if not isinstance(data.get("basicId"), int | str) or isinstance(data.get("basicId"), bool):
            data["basicId"] = None
        for name in cls.TEXT:
            if data.get(name) in (None, ""):
                data[name] = nested_value(data, name)
        return data

    def contact(self) -> dict[str, str | None]:
        """The details a person can edit, wherever Chatra kept them."""
        return {field: getattr(self, field) for field in VISITOR_FIELDS}

    def updated_by(self, newer: "ChatraClient") -> "ChatraClient":
        """This visitor with what `newer` says of them; what it leaves out stays as it was."""
        given = {k: v for k, v in newer.model_dump().items() if v not in (None, "", {}, [])}
        return ChatraClient.model_validate({**self.model_dump(), **given})

    def with_contact(self, changed: dict[str, str | None]) -> "ChatraClient":
        """The visitor after an edit: `changed` replaces those details wherever they were kept
        (None: removed)."""
        data = self.model_dump()
        for source in CONTACT_SOURCES:
            if isinstance(data.get(source), dict):
                data[source] = {k: v for k, v in data[source].items() if k not in changed}
        return ChatraClient.model_validate({**data, **changed})

    def display_name(self) -> str:
        """The visitor's name as shown (they set it themselves: see `shown_name`)."""
        name = shown_name(self.name or self.displayedName or "")
        if name:
            return name
        if self.basicId not in (None, ""):
            return shown_name(f"Visitor #{self.basicId}")
        return f"Visitor {shown_name(self.id[:6])}"


def nested_value(data: dict[str, Any], name: str) -> Any:
    """A contact detail from where Chatra may keep it, in order; None when nowhere."""
    for source in CONTACT_SOURCES:
        nested = data.get(source)
        if isinstance(nested, dict) and nested.get(name) not in (None, ""):
            return nested[name]
    return None


class ChatraFile(Lenient):
    """A file in a message: `{url, name, type}` or the successor API's `{filename, size,
    isImage, url}`; any other shape is kept and shown by its link."""

    TEXT = ("url", "name", "type")
    NUMBERS = ("size",)
    url: str | None = None
    name: str | None = None
    type: str | None = None  # a mime type, e.g. image/png
    size: int | float | None = None
    isImage: bool | None = None

    @classmethod
    def prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        data["name"] = data.get("name") or data.get("filename") or data.get("title")
        if not isinstance(data.get("isImage"), bool):
            data["isImage"] = None
        return data

    def is_image(self) -> bool:
        if self.isImage is not None:
            return self.isImage
        if self.type:
            return self.type.startswith("image/")
        name = (self.name or self.url or "").lower()
        return name.endswith((".png", ".jpg", ".jpeg", ".gif", ".webp"))


class ChatraMessage(Lenient):
    TEXT = ("id", "type", "message", "text", "agentId", "clientId", "receivedFrom")
    NUMBERS = ("createdAt",)
    id: str | None = None  # often missing in webhooks: `key` is what identifies a message
    type: str = "client"  # "client" (visitor) | "agent" | others: system notices
    message: str | None = None
    text: str | None = None
    agentId: str | None = None
    clientId: str | None = None  # in Membrane's answers (get-message); a webhook's is its client
    createdAt: int | float | None = None
    receivedFrom: str | None = None  # the label of whoever sent it through the API
    files: list[ChatraFile] = Field(default_factory=list)
    # What sent a message no person wrote (the successor API's flags, see AUTOMATIC).
    isBot: bool | None = None
    isTrigger: bool | None = None
    isPushed: bool | None = None
    key: str = ""  # set by read_webhook: the id, or one derived from what does not change

    @classmethod
    def prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("type") in (None, ""):
            data.pop("type", None)
        if isinstance(data.get("id"), str) and len(data["id"]) > 200:
            data["id"] = None
        found = [
            data.get("file"),
            *(data.get("files") or [] if isinstance(data.get("files"), list) else []),
        ]
        data["files"] = [f for f in found if isinstance(f, dict)]
        for flag in AUTOMATIC:
            if not isinstance(data.get(flag), bool):
                data[flag] = None
        return data

    @property
    def automatic(self) -> str | None:
        """What sent a message no person wrote (a trigger, a bot, a pushed message, a notice
        of Chatra's own), as the thread names it; None: the visitor or an agent wrote it."""
        if self.type == "client":
            return None
        flagged = [what for flag, what in AUTOMATIC.items() if getattr(self, flag)]
        if flagged:
            return flagged[0]
        return None if self.type == "agent" else "Chatra"

    @property
    def by_a_person(self) -> bool:
        """The visitor's words or an agent's answer: what starts and ends a visitor's wait."""
        return self.type in ("client", "agent") and self.automatic is None

    @property
    def body(self) -> str:
        return self.message if self.message is not None else (self.text or "")

    def shown_files(self) -> list[ChatraFile]:
        return [f for f in self.files if f.url and f.url.startswith(("https://", "http://"))]

    def why_not_shown(self) -> str | None:
        """Why the message cannot be shown in Slack; None when it can."""
        if self.shown_files() or any(ch.isprintable() and not ch.isspace() for ch in self.body):
            return None
        if self.files:
            return "a file without a URL"
        return "no text" if not self.body else "only control characters"


def message_key(client_id: str, message: ChatraMessage) -> str:
    """Chatra's id, or a key of our own making: what the message says (chat, type, text), then
    when it was written, so the same message in a later fragment is recognised, and the same
    words written again later are a message of their own."""
    if message.id:
        return message.id
    stable = json.dumps([client_id, message.type, message.body])
    said = hashlib.sha256(stable.encode()).hexdigest()[:32]
    return f"{DERIVED_KEY}{said}:{message.createdAt if message.createdAt else '-'}"


def keyed_as_before(messages: list[ChatraMessage], stored: list[str]) -> None:
    """A transcript repeats the whole chat, but the times of messages without an id may differ
    from those the fragments gave, or be missing: its n-th message saying something is the n-th
    stored message that said it (`stored`: the chat's keys of our making, oldest first)."""
    earlier: dict[str, list[str]] = {}
    for key in stored:
        earlier.setdefault(key.split(":")[1], []).append(key)
    for message in messages:
        if message.key.startswith(DERIVED_KEY):
            same = earlier.get(message.key.split(":")[1])
            if same:
                message.key = same.pop(0)


class ChatraAgent(Lenient):
    TEXT = ("id", "name", "email")
    id: str
    name: str | None = None
    email: str | None = None


class ChatraWebhook(BaseModel):
    model_config = ConfigDict(extra="allow")
    eventName: str
    client: ChatraClient
    messages: list[ChatraMessage] = Field(default_factory=list)
    agents: list[ChatraAgent] = Field(default_factory=list)

    def messages_in_order(self) -> list[ChatraMessage]:
        """By creation time; messages without one keep their place at the end, in given order."""
        return sorted(self.messages, key=lambda m: (m.createdAt is None, m.createdAt or 0))

    def summary(self) -> str:
        """How a chat went, from its transcript: how long, who answered, the visitor's rating
        (see `bot.core.wire.rating`)."""
        times = [m.createdAt for m in self.messages if m.createdAt]
        parts = []
        if len(times) > 1:
            minutes = round((max(times) - min(times)) / 60_000)
            parts.append(f"lasted {minutes} min" if minutes else "lasted under a minute")
        answers = [m for m in self.messages if m.type == "agent" and m.by_a_person]
        names = {self.agent_name(m.agentId) for m in answers}
        names |= {agent.name for agent in self.agents if agent.name}
        parts.append("answered by " + ", ".join(sorted(names)) if names else "no agent answered")
        rating = self.rating()
        if rating is not None:
            parts.append(f"rated {rating.shown}")
        return " · ".join(parts)

    def rating(self) -> Rating | None:
        return rating_of(self.model_extra, self.client.model_extra)

    def agent_name(self, agent_id: str | None) -> str:
        for agent in self.agents:
            if agent.id == agent_id and shown_name(agent.name or ""):
                return shown_name(agent.name or "")
        return "Agent"


def read_webhook(data: dict[str, Any]) -> tuple[ChatraWebhook, list[str]]:
    """A parsed body as a webhook, and why each message left out was left out. Every message is
    read on its own: one that cannot be read or shown costs no other."""
    client = ChatraClient.model_validate(data["client"])
    skipped, messages = [], []
    raw = data.get("messages")
    for n, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, dict):
            skipped.append(f"message {n + 1}: not an object")
            continue
        try:
            message = ChatraMessage.model_validate(item)
        except ValidationError as error:
            skipped.append(f"message {n + 1}: unreadable {error.errors()[0]['loc']}")
            continue
        why = message.why_not_shown()
        if why:
            skipped.append(f"message {n + 1}: {why}")
            continue
        message.key = message_key(client.id, message)
        messages.append(message)
    agents = []
    for item in data.get("agents") if isinstance(data.get("agents"), list) else []:
        try:
            agents.append(ChatraAgent.model_validate(item))
        except ValidationError:
            continue  # an agent without an id names no one
    rest = {k: v for k, v in data.items() if k not in ("client", "messages", "agents")}
    webhook = ChatraWebhook.model_validate(
        {**rest, "client": client, "messages": messages, "agents": agents}
    )
    return webhook, skipped
