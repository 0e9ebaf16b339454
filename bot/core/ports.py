"""How the core reaches Slack and Chatra: two small protocols, so the core knows no transport."""

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, Protocol

from bot.core.slack_ui.blocks import SlackMessage
from bot.core.wire.slack import SharedFile


@dataclass(frozen=True)
class Writer:
    """Who a message to the visitor is from, as Chatra requires it: an agent's id, or else an
    email and a name (which Chatra takes with the sender's `receivedFrom` mark)."""

    agent_id: str | None = None
    email: str | None = None
    name: str | None = None


class ReplyState(StrEnum):
    """What a reply shows of its way to the visitor, as a reaction on it."""

    PENDING = "pending"  # its send is taking a while
    DELIVERED = "delivered"
    FAILED = "failed"
    NOTE = "note"  # an internal note: not sent to the visitor


class Posted(NamedTuple):
    channel: str  # where Slack put it: a DM posted to a user id is at the DM's own D… id
    ts: str


class SlackPort(Protocol):
    workspace_url: str  # e.g. https://acme.slack.com/, as auth.test says; links start with it
    bot_user_id: str  # the bot's own user, as auth.test says

    async def post(
        self,
        channel: str,
        message: SlackMessage,
        thread_ts: str | None = None,
        keys: tuple[str, ...] = (),
    ) -> Posted: ...
    async def find_posted(
        self, channel: str, thread_ts: str | None, keys: list[str], since: float
    ) -> dict[str, str]: ...
    async def update(
        self, channel: str, ts: str, message: SlackMessage, keys: tuple[str, ...] = ()
    ) -> None: ...
    async def show_state(
        self, channel: str, ts: str, state: ReplyState, previous: ReplyState | None
    ) -> None: ...
    async def tell(
        self, channel: str, user: str, message: SlackMessage, thread_ts: str | None = None
    ) -> None: ...
    async def reacted(self, channel: str, ts: str) -> dict[str, set[str]]: ...
    async def user_name(self, user_id: str) -> str | None: ...
    async def user_email(self, user_id: str) -> str | None: ...
    async def group_members(self, group_id: str) -> list[str]: ...
    async def is_guest(self, user_id: str) -> bool | None: ...
    async def active(self, user_id: str) -> bool: ...
    async def channel_members(self, channel: str) -> set[str] | None: ...


class FilePort(Protocol):
    async def publish(self, file: SharedFile) -> SharedFile: ...
    async def forget(self, text: str) -> None: ...
    async def keep(self, name: str, body: bytes) -> str | None: ...


class ChatraPort(Protocol):
    async def send_agent_message(self, client_id: str, text: str, writer: Writer) -> str: ...
    async def edit_agent_message(self, message_id: str, text: str) -> None: ...
    async def delete_agent_message(self, message_id: str) -> None: ...
