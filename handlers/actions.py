"""Buttons: on a visitor's card (details, edit, push, claim, discuss) and "Try again" on a
delivery warning. Each is acknowledged at once; the slow part runs as a Bolt lazy listener."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.door import FrontDoor, push_modal
from bot.core.slack_ui.ids import (
    CLAIM_BUTTON,
    DELETE_PUSHED_BUTTON,
    DETAILS_BUTTON,
    DISCUSS_BUTTON,
    DONE_BUTTON,
    EDIT_BUTTON,
    EDIT_PUSHED_BUTTON,
    KEEP_AS_NOTE,
    PUSH_BUTTON,
    REOPEN_BUTTON,
    RETRY_ACTION,
    SEND_ANYWAY,
    VISITOR_OF_MESSAGE,
)
from handlers.modals import fill_in, open_loading


async def acknowledge(ack: AsyncAck) -> None:
    await ack()


class CardActions:
    """The listeners of the card's buttons, a failed reply's Try again and the message shortcut."""

    def __init__(self, door: FrontDoor) -> None:
        self._door, self._tools, self._held = door, door.visitors, door.held

    async def retry(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any]
    ) -> None:
        """The new try is stored before the click is acknowledged: it is never lost."""
        reply_ts, click = str(action.get("value", "")), str(action.get("action_ts", ""))
        context["quoted"] = await self._held.retry(reply_ts, click, body["user"]["id"])
        await ack()

    async def show_retrying(self, body: dict[str, Any], context: dict[str, Any]) -> None:
        quoted = context.get("quoted")
        if quoted is not None:
            channel, user = body["channel"]["id"], body["user"]["id"]
            await self._held.show_retrying(channel, body["message"]["ts"], quoted, user)

    async def decide_on_mentions(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """*Send to visitor* or *Keep as a note*: stored before the click is acknowledged; the
        question is replaced by what was done."""
        send = action["action_id"] == SEND_ANYWAY
        reply_ts, click = str(action.get("value", "")), str(action.get("action_ts", ""))
        said = await self._door.mentions.decide(reply_ts, send, body["user"]["id"], click)
        await ack()
        await respond(text=said, replace_original=True)

    async def show_details(
        self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        details = await self._tools.lookup(action["value"])
        await client.chat_postEphemeral(
            channel=clicked_in(body, self._door.channel),
            user=body["user"]["id"],
            text=details.text,
            blocks=details.blocks,
        )

    async def open_edit_form(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        await ack()
        await open_loading(client, body["trigger_id"], "Edit visitor", context)

    async def fill_edit_form(
        self, action: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        await fill_in(client, context, self._tools.edit_form(action["value"]))

    async def open_push_form(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=push_modal(action["value"]))

    async def open_pushed_form(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        await ack()
        await open_loading(client, body["trigger_id"], "Pushed message", context)

    async def fill_pushed_form(
        self, action: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        await fill_in(client, context, self._tools.edit_pushed_form(action["value"]))

    async def delete_pushed(
        self, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        # Slack asked "Delete the pushed message?" before sending this
        said = await self._tools.delete_pushed(action["value"], body["user"]["id"])
        await respond(text=said, replace_original=True)

    async def visitor_of_message(self, shortcut: dict[str, Any], respond: AsyncRespond) -> None:
        message = shortcut.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts") or ""
        client_id = await self._tools.client_of_thread(shortcut["channel"]["id"], thread_ts)
        if client_id is None:
            await respond(response_type="ephemeral", text="This is not a Chatra chat's thread.")
            return
        details = await self._tools.lookup(client_id)
        await respond(response_type="ephemeral", text=details.text, blocks=details.blocks)

    async def done(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await self._door.cards.done(action["value"], body["user"]["id"])

    async def reopen(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        await self._door.cards.reopen(action["value"], f"by <@{user}>", by=user)

    async def claim(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await self._door.cards.claim(action["value"], body["user"]["id"])

    async def open_discussion(
        self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        link = await self._door.cards.discuss_internally(action["value"])
        text = (
            f":lock: <{link}|The internal discussion> of this chat."
            if link
            else "This chat has no thread any more."
        )
        channel = clicked_in(body, self._door.channel)
        await client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)


def register(app: AsyncApp, door: FrontDoor) -> None:
    listeners = CardActions(door)
    app.action(CLAIM_BUTTON)(listeners.claim)
    app.action(DONE_BUTTON)(listeners.done)
    app.action(REOPEN_BUTTON)(listeners.reopen)
    app.action(DISCUSS_BUTTON)(ack=acknowledge, lazy=[listeners.open_discussion])
    app.action(RETRY_ACTION)(ack=listeners.retry, lazy=[listeners.show_retrying])
    app.action(SEND_ANYWAY)(listeners.decide_on_mentions)
    app.action(KEEP_AS_NOTE)(listeners.decide_on_mentions)
    app.action(EDIT_PUSHED_BUTTON)(
        ack=listeners.open_pushed_form, lazy=[listeners.fill_pushed_form]
    )
    app.action(DELETE_PUSHED_BUTTON)(ack=acknowledge, lazy=[listeners.delete_pushed])
    app.shortcut(VISITOR_OF_MESSAGE)(ack=acknowledge, lazy=[listeners.visitor_of_message])
    app.action(DETAILS_BUTTON)(ack=acknowledge, lazy=[listeners.show_details])
    app.action(EDIT_BUTTON)(ack=listeners.open_edit_form, lazy=[listeners.fill_edit_form])
    app.action(PUSH_BUTTON)(listeners.open_push_form)


def clicked_in(body: dict[str, Any], support_channel: str) -> str:
    """The channel of the card whose button was clicked (a routed one, say): answers show there."""
    return str((body.get("channel") or {}).get("id") or support_channel)
