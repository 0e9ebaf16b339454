"""Buttons: "Try again" on a warning about a reply that did not reach the visitor."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.bridge import Bridge
from bot.slack_views import RETRY_ACTION


def register(app: AsyncApp, bridge: Bridge) -> None:
    async def on_retry(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        quoted = bridge.replies.retry_reply(
            str(action.get("value", "")), str(action.get("action_ts", ""))
        )
        if quoted is not None:
            channel = body["channel"]["id"]
            await bridge.replies.show_retrying(
                channel, body["message"]["ts"], quoted, body["user"]["id"]
            )

    app.action(RETRY_ACTION)(on_retry)
