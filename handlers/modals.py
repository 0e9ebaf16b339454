"""Modals: the edit-visitor form and the pushed-message form (new or edited)."""

import json
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.door import FrontDoor, modal, pushed_text_errors, visitor_form_errors
from bot.core.slack_ui.ids import EDIT_PUSHED, EDIT_VISITOR, PUSH_MESSAGE


async def open_loading(
    client: AsyncWebClient, trigger_id: str, title: str, context: dict[str, Any]
) -> None:
    """The trigger lives 3 s: open the modal now, saying it is loading; its id is kept in the
    context, which Bolt hands to the lazy listener that fills it in."""
    opened = await client.views_open(trigger_id=trigger_id, view=modal(title, "Loading…"))
    context["loading_view"] = opened["view"]["id"]


async def fill_in(
    client: AsyncWebClient, context: dict[str, Any], form: Awaitable[dict[str, Any]]
) -> None:
    """Replace the loading modal with `form`, once Chatra has answered."""
    await client.views_update(view_id=context["loading_view"], view=await form)


class Modals:
    """The listeners of the modals' submissions: each checked in the ack (errors shown under the
    field), carried out after it."""

    def __init__(self, door: FrontDoor) -> None:
        self._door, self._tools = door, door.visitors

    async def check_visitor(self, ack: AsyncAck, view: dict[str, Any]) -> None:
        errors = visitor_form_errors(_values(view))
        if errors:
            await ack(response_action="errors", errors=errors)  # shown under each field
        else:
            await ack()

    async def save_visitor(
        self, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = _values(view)
        if visitor_form_errors(values):
            return
        form = json.loads(view["private_metadata"])
        changed = {f: value for f, value in values.items() if value or f in form["had"]}
        sentence, updated = await self._tools.save(form["client"], changed, body["user"]["id"])
        if updated:
            await self._door.cards.visitor_changed(form["client"], updated)
        await self._tell(client, body["user"]["id"], sentence)

    async def check_pushed_text(self, ack: AsyncAck, view: dict[str, Any]) -> None:
        errors = pushed_text_errors(_values(view).get("text", ""))
        if errors:
            await ack(response_action="errors", errors=errors)
        else:
            await ack()

    async def send_pushed_text(
        self, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        text = _values(view).get("text", "")
        if pushed_text_errors(text):
            return
        user, target = body["user"]["id"], view["private_metadata"]
        if view["callback_id"] == PUSH_MESSAGE:
            answer = await self._tools.push(target, text, user)
            await client.chat_postEphemeral(
                channel=self._door.channel, user=user, text=answer.text, blocks=answer.blocks
            )
        else:
            await self._tell(client, user, await self._tools.edit_pushed(target, text, user))

    async def _tell(self, client: AsyncWebClient, user: str, text: str) -> None:
        await client.chat_postEphemeral(channel=self._door.channel, user=user, text=text)


def register(app: AsyncApp, door: FrontDoor) -> None:
    modals = Modals(door)
    app.view(EDIT_VISITOR)(ack=modals.check_visitor, lazy=[modals.save_visitor])
    app.view(PUSH_MESSAGE)(ack=modals.check_pushed_text, lazy=[modals.send_pushed_text])
    app.view(EDIT_PUSHED)(ack=modals.check_pushed_text, lazy=[modals.send_pushed_text])


def _values(view: dict[str, Any]) -> dict[str, str]:
    return {
        field: (state.get("value", {}).get("value") or "").strip()
        for field, state in view["state"]["values"].items()
    }
