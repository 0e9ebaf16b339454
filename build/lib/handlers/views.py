"""Modals: the edit-visitor form and the pushed-message form (new or edited)."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.bridge import Bridge
from bot.core.views import EDIT_PUSHED, EDIT_VISITOR, PUSH_MESSAGE, modal
from bot.core.visitor_tools import VisitorTools, pushed_text_errors, visitor_form_errors
from handlers.background import Background


async def open_then_fill(
    client: AsyncWebClient,
    trigger_id: str,
    title: str,
    form: Callable[[], Awaitable[dict[str, Any]]],
    later: Background,
) -> None:
    """The trigger lives 3 s: open the modal now, fill it in once Chatra has answered."""
    opened = await client.views_open(trigger_id=trigger_id, view=modal(title, "Loading…"))

    async def fill_in() -> None:
        await client.views_update(view_id=opened["view"]["id"], view=await form())

    later.run(fill_in())


def register(app: AsyncApp, bridge: Bridge, tools: VisitorTools, later: Background) -> None:
    async def tell(client: AsyncWebClient, user: str, text: str) -> None:
        await client.chat_postEphemeral(channel=bridge.channel, user=user, text=text)

    async def on_edit_visitor(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = _values(view)
        errors = visitor_form_errors(values)
        if errors:
            await ack(response_action="errors", errors=errors)  # shown under each field
            return
        await ack()
        form = json.loads(view["private_metadata"])
        changed = {f: value for f, value in values.items() if value or f in form["had"]}
        later.run(save(client, body["user"]["id"], form["client"], changed))

    async def save(
        client: AsyncWebClient, user: str, client_id: str, values: dict[str, str]
    ) -> None:
        sentence, updated = await tools.save(client_id, values)
        if updated:
            await bridge.chat.visitor_changed(client_id, updated)
        await tell(client, user, sentence)

    async def on_pushed_text(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        text = _values(view).get("text", "")
        errors = pushed_text_errors(text)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        user, target = body["user"]["id"], view["private_metadata"]

        async def push() -> None:
            answer = await tools.push(target, text)
            await client.chat_postEphemeral(
                channel=bridge.channel, user=user, text=answer.text, blocks=answer.blocks
            )

        async def edit() -> None:
            await tell(client, user, await tools.edit_pushed(target, text))

        later.run(push() if view["callback_id"] == PUSH_MESSAGE else edit())

    app.view(EDIT_VISITOR)(on_edit_visitor)
    app.view(PUSH_MESSAGE)(on_pushed_text)
    app.view(EDIT_PUSHED)(on_pushed_text)


def _values(view: dict[str, Any]) -> dict[str, str]:
    return {
        field: (state.get("value", {}).get("value") or "").strip()
        for field, state in view["state"]["values"].items()
    }
