"""The pieces every Slack message the bridge builds is made of: the message itself and its
Block Kit elements. Pure data."""

from dataclasses import dataclass
from typing import Any

from bot.core.wire.text import plain_to_slack


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the notification / fallback text
    blocks: list[dict[str, Any]] | None = None
    username: str | None = None  # shown as the author (scope chat:write.customize)
    icon_emoji: str | None = None
    broadcast: bool = False  # a thread reply also shown in the channel


def mention(slack_id: str) -> str:
    """A person (U..., W...) or a user group (S...), as Slack notifies them."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def button(action_id: str, label: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def value_or_dash(value: str | None) -> str:
    return plain_to_slack(value) if value else "—"


def context(text: str) -> dict[str, Any]:
    """A quiet grey line of mrkdwn."""
    return {"type": "context", "elements": [mrkdwn(text)]}


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}
