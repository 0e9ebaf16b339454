"""Buttons: on a visitor's card (details, edit, push) and "Try again" on a delivery warning."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.bridge import Bridge
from bot.slack_views import DETAILS_BUTTON, EDIT_BUTTON, PUSH_BUTTON, RETRY_ACTION, push_modal
from bot.visitor_tools import VisitorTools
from handlers.background import Background
from handlers.views import open_edit_visitor


def register(app: AsyncApp, bridge: Bridge, tools: VisitorTools, later: Background) -> None:
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

    async def on_details(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()

        async def show() -> None:
            details = await tools.lookup(action["value"])
            await client.chat_postEphemeral(
                channel=bridge.channel,
                user=body["user"]["id"],
                text=details.text,
                blocks=details.blocks,
            )

        later.run(show())

    async def on_edit(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await open_edit_visitor(client, body["trigger_id"], action["value"], tools, later)

    async def on_push(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=push_modal(action["value"]))

    app.action(RETRY_ACTION)(on_retry)
    app.action(DETAILS_BUTTON)(on_details)
    app.action(EDIT_BUTTON)(on_edit)
    app.action(PUSH_BUTTON)(on_push)
