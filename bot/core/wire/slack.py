"""What arrives from Slack: thread changes, as validated models.

Chatra's webhooks are read in `bot.core.wire.chatra`."""

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class RetryReason(StrEnum):
    CLICKED = "clicked"  # a person clicked Try again on a failed reply
    PROBE = "probe"  # Chatra is away: the oldest held reply tried, to see whether it is back
    RESUMED = "resumed"  # Chatra is back: a held reply sent
    CONFIRMED = "confirmed"  # it names teammates, and its author said to send it all the same


# How a retry was written before it was typed ("probe:<id>"...; a click's id alone): a retry
# stored by an earlier version and carried out after the upgrade is read the same.
_PREFIXES = {RetryReason.PROBE: "probe:", RetryReason.RESUMED: "resume:",
             RetryReason.CONFIRMED: "confirmed:", RetryReason.CLICKED: ""}  # fmt: skip


class Retry(BaseModel):
    """Why a reply is tried again, and which try it is: each try has its own `id` (a click's,
    a probe's, an outage's number), so storing it twice carries it out once."""

    reason: RetryReason
    id: str

    @property
    def key(self) -> str:
        """The try's key, as warnings about it are keyed (the same since before it was typed)."""
        return _PREFIXES[self.reason] + self.id

    @classmethod
    def of_key(cls, key: str) -> "Retry":
        for reason, prefix in _PREFIXES.items():
            if prefix and key.startswith(prefix):
                return cls(reason=reason, id=key.removeprefix(prefix))
        return cls(reason=RetryReason.CLICKED, id=key)


class SlackReply(BaseModel):
    """A person wrote in a mirrored thread."""

    kind: Literal["reply"] = "reply"
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str
    files: list[SharedFile] = Field(default_factory=list)
    retry: Retry | None = None  # a new try of a reply that did not reach the visitor

    @model_validator(mode="before")
    @classmethod
    def _typed_retry(cls, data: Any) -> Any:
        """A retry stored before it was typed (`retry_of`: "probe:<id>") is read as one."""
        if isinstance(data, dict) and data.get("retry_of"):
            data = dict(data)
            data["retry"] = Retry.of_key(str(data.pop("retry_of")))
        return data


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
