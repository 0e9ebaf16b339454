"""What arrives: Chatra webhooks and Slack thread changes, as validated models."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CHAT_EVENTS = ("chatStarted", "chatFragment", "chatTranscript")


def repaired(value: Any) -> Any:
    """JSON as parsed, with lone surrogates (`"\\ud800"`, valid JSON but not valid text) replaced by
    U+FFFD: SQLite, pydantic's JSON parser and Slack all refuse them."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [repaired(item) for item in value]
    if isinstance(value, dict):
        return {repaired(key): repaired(item) for key, item in value.items()}
    return value


def _to_str(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ChatraClient(BaseModel):
    """A website visitor. Only `id` is sure to be there; unknown fields are kept."""

    model_config = ConfigDict(extra="allow")
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

    _ids_as_text = field_validator("id", "chatId", mode="before")(_to_str)

    def display_name(self) -> str:
        name = (self.name or self.displayedName or "").strip()
        if name:
            return name
        if self.basicId not in (None, ""):
            return f"Visitor #{self.basicId}"
        return f"Visitor {self.id[:6]}"


class ChatraFile(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str
    name: str | None = None
    type: str | None = None  # a mime type, e.g. image/png

    def is_image(self) -> bool:
        if self.type:
            return self.type.startswith("image/")
        return (self.name or self.url).lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp"))


class ChatraMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=200)
    type: str = "client"  # "client" (visitor) | "agent" | others: system notices
    message: str | None = None
    text: str | None = None
    agentId: str | None = None
    createdAt: int | float | None = None
    file: ChatraFile | None = None

    _ids_as_text = field_validator("id", "agentId", mode="before")(_to_str)

    @property
    def body(self) -> str:
        return self.message if self.message is not None else (self.text or "")


class ChatraAgent(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str | None = None
    email: str | None = None

    _ids_as_text = field_validator("id", mode="before")(_to_str)


class ChatraWebhook(BaseModel):
    model_config = ConfigDict(extra="allow")
    eventName: str = Field(min_length=1, max_length=100)
    client: ChatraClient
    messages: list[ChatraMessage] = Field(default_factory=list)
    agents: list[ChatraAgent] = Field(default_factory=list)

    def messages_in_order(self) -> list[ChatraMessage]:
        """By creation time; messages without one keep their place at the end, in given order."""
        return sorted(self.messages, key=lambda m: (m.createdAt is None, m.createdAt or 0))

    def summary(self) -> str:
        """How a chat went, from its transcript: how long, who answered, the visitor's rating
        (a `rating` field is [assumed]: shown when Chatra sends one)."""
        times = [m.createdAt for m in self.messages if m.createdAt]
        parts = []
        if len(times) > 1:
            minutes = round((max(times) - min(times)) / 60_000)
            parts.append(f"lasted {minutes} min" if minutes else "lasted under a minute")
        names = {self.agent_name(m.agentId) for m in self.messages if m.type == "agent"}
        names |= {agent.name for agent in self.agents if agent.name}
        parts.append("answered by " + ", ".join(sorted(names)) if names else "no agent answered")
        rating = (self.model_extra or {}).get("rating")
        if rating not in (None, ""):
            parts.append(f"rated {rating}")
        return " · ".join(parts)

    def agent_name(self, agent_id: str | None) -> str:
        for agent in self.agents:
            if agent.id == agent_id and agent.name:
                return agent.name
        return "Agent"


class SlackEnvelope(BaseModel):
    """The top of any Slack request body, as Bolt's middleware reads it before our listeners."""

    model_config = ConfigDict(extra="allow")
    type: str | None = None
    token: str | None = None
    team_id: str | None = None
    api_app_id: str | None = None
    enterprise_id: str | None = None
    event_id: str | None = None
    event: dict[str, Any] = Field(default_factory=dict)  # Bolt reads body.get("event", {}).get
    authorizations: list[dict[str, Any]] | None = None
    is_enterprise_install: bool | None = None


class SharedFile(BaseModel):
    """A file a person shared in Slack: readable with the bot token (scope files:read)."""

    id: str
    name: str
    url: str
    mimetype: str | None = None


class SlackReply(BaseModel):
    """A person wrote in a mirrored thread."""

    kind: Literal["reply"] = "reply"
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str
    files: list[SharedFile] = Field(default_factory=list)
    retry_of: str | None = None  # a person clicked "Try again": the click's id


class SlackEdit(BaseModel):
    kind: Literal["edit"] = "edit"
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str


class SlackDeletion(BaseModel):
    kind: Literal["delete"] = "delete"
    channel: str
    thread_ts: str
    ts: str


class SlackChange(BaseModel):
    """The stored form of any of the three, for the inbox."""

    change: SlackReply | SlackEdit | SlackDeletion = Field(discriminator="kind")
