"""Modal submissions: the edit-visitor form."""

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.bridge import Bridge
from bot.slack_views import EDIT_VISITOR
from bot.visitor_tools import VisitorTools, visitor_form_errors


def register(app: AsyncApp, bridge: Bridge, tools: VisitorTools) -> None:
    saving: set[asyncio.Task[None]] = set()

    async def on_edit_visitor(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = {
            field: (state.get("value", {}).get("value") or "").strip()
            for field, state in view["state"]["values"].items()
        }
        errors = visitor_form_errors(values)
        if errors:
            await ack(response_action="errors", errors=errors)  # shown under each field
            return
        await ack()
        filled = {field: value for field, value in values.items() if value}
        task = asyncio.create_task(
            save(client, body["user"]["id"], view["private_metadata"], filled)
        )
        saving.add(task)
        task.add_done_callback(saving.discard)

    async def save(
        client: AsyncWebClient, user: str, client_id: str, values: dict[str, str]
    ) -> None:
        sentence, updated = await tools.save(client_id, values)
        if updated:
            await bridge.chat.visitor_changed(client_id, updated)
        await client.chat_postEphemeral(channel=bridge.channel, user=user, text=sentence)

    app.view(EDIT_VISITOR)(on_edit_visitor)
