"""Modals: the edit-visitor form and the pushed-message form (new or edited)."""

import json
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.people.visitor_tools import pushed_text_errors, visitor_form_errors
from bot.core.slack_ui.views import EDIT_PUSHED, EDIT_VISITOR, PUSH_MESSAGE, modal
from bot.core.use_cases import UseCases


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


def register(app: AsyncApp, core: UseCases) -> None:
    tools = core.visitors

    async def tell(client: AsyncWebClient, user: str, text: str) -> None:
        await client.chat_postEphemeral(channel=core.channel, user=user, text=text)

    async def check_visitor(ack: AsyncAck, view: dict[str, Any]) -> None:
        errors = visitor_form_errors(_values(view))
        if errors:
            await ack(response_action="errors", errors=errors)  # shown under each field
        else:
            await ack()

    async def save_visitor(
        body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = _values(view)
        if visitor_form_errors(values):
            return
        form = json.loads(view["private_metadata"])
        changed = {f: value for f, value in values.items() if value or f in form["had"]}
        sentence, updated = await tools.save(form["client"], changed, body["user"]["id"])
        if updated:
            await core.chats.visitor_changed(form["client"], updated)
        await tell(client, body["user"]["id"], sentence)

    async def check_pushed_text(ack: AsyncAck, view: dict[str, Any]) -> None:
        errors = pushed_text_errors(_values(view).get("text", ""))
        if errors:
            await ack(response_action="errors", errors=errors)
        else:
            await ack()

    async def send_pushed_text(
        body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        text = _values(view).get("text", "")
        if pushed_text_errors(text):
            return
        user, target = body["user"]["id"], view["private_metadata"]
        if view["callback_id"] == PUSH_MESSAGE:
            answer = await tools.push(target, text, user)
            await client.chat_postEphemeral(
                channel=core.channel, user=user, text=answer.text, blocks=answer.blocks
            )
        else:
            await tell(client, user, await tools.edit_pushed(target, text, user))

    app.view(EDIT_VISITOR)(ack=check_visitor, lazy=[save_visitor])
    app.view(PUSH_MESSAGE)(ack=check_pushed_text, lazy=[send_pushed_text])
    app.view(EDIT_PUSHED)(ack=check_pushed_text, lazy=[send_pushed_text])


def _values(view: dict[str, Any]) -> dict[str, str]:
    return {
        field: (state.get("value", {}).get("value") or "").strip()
        for field, state in view["state"]["values"].items()
    }
