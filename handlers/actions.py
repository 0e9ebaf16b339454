"""Buttons: on a visitor's card (details, edit, push) and "Try again" on a delivery warning."""

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.bridge import Bridge
from bot.core.views import (
    CLAIM_BUTTON,
    DELETE_PUSHED_BUTTON,
    DETAILS_BUTTON,
    DISCUSS_BUTTON,
    EDIT_BUTTON,
    EDIT_PUSHED_BUTTON,
    PUSH_BUTTON,
    RETRY_ACTION,
    VISITOR_OF_MESSAGE,
    push_modal,
)
from bot.core.visitor_tools import VisitorTools
from handlers.background import Background
from handlers.views import open_then_fill


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
        edit_form = partial(tools.edit_form, action["value"])
        await open_then_fill(client, body["trigger_id"], "Edit visitor", edit_form, later)

    async def on_push(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=push_modal(action["value"]))

    async def on_edit_pushed(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        form = partial(tools.edit_pushed_form, action["value"])
        await open_then_fill(client, body["trigger_id"], "Pushed message", form, later)

    async def on_delete_pushed(
        ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()  # Slack asked "Delete the pushed message?" before sending this

        async def delete() -> None:
            await respond(text=await tools.delete_pushed(action["value"]), replace_original=True)

        later.run(delete())

    async def on_visitor_of_message(
        ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        message = shortcut.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts") or ""
        client_id = tools.client_of_thread(shortcut["channel"]["id"], thread_ts)

        async def show() -> None:
            if client_id is None:
                await respond(response_type="ephemeral", text="This is not a Chatra chat's thread.")
                return
            details = await tools.lookup(client_id)
            await respond(response_type="ephemeral", text=details.text, blocks=details.blocks)

        later.run(show())

    async def on_claim(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await bridge.chat.claim(action["value"], body["user"]["id"])

    async def on_discuss(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()

        async def open_discussion() -> None:
            link = await bridge.chat.discuss_internally(action["value"])
            text = (
                f":lock: <{link}|The internal discussion> of this chat."
                if link
                else ("This chat has no thread any more.")
            )
            await client.chat_postEphemeral(
                channel=bridge.channel, user=body["user"]["id"], text=text
            )

        later.run(open_discussion())

    app.action(CLAIM_BUTTON)(on_claim)
    app.action(DISCUSS_BUTTON)(on_discuss)
    app.action(RETRY_ACTION)(on_retry)
    app.action(EDIT_PUSHED_BUTTON)(on_edit_pushed)
    app.action(DELETE_PUSHED_BUTTON)(on_delete_pushed)
    app.shortcut(VISITOR_OF_MESSAGE)(on_visitor_of_message)
    app.action(DETAILS_BUTTON)(on_details)
    app.action(EDIT_BUTTON)(on_edit)
    app.action(PUSH_BUTTON)(on_push)
