"""What arrives from Slack: thread changes, as validated models.

Chatra's webhooks are read in `bot.core.wire.chatra`."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    url: str = ""  # empty when Slack says "check_file_info": files.info tells it
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
    confirmed: bool = False  # it names teammates, and its author said to send it all the same


class SlackDeletion(BaseModel):
    kind: Literal["delete"] = "delete"
    channel: str
    thread_ts: str
    ts: str


class SlackChange(BaseModel):
    """The stored form of any of the three, for the inbox."""

    change: SlackReply | SlackEdit | SlackDeletion = Field(discriminator="kind")
