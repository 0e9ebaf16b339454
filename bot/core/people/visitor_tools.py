"""The /chatra subcommands: look a visitor up, push a message, audit a message.

Each returns a SlackMessage to show the person who asked; Membrane errors become sentences.
"""

import re
from typing import Any, Protocol

from bot.core.context import Context
from bot.core.errors import MembraneError
from bot.core.people.open_chats import describe, open_chats
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.views import (
    client_details,
    earlier_chats,
    edit_visitor_modal,
    modal,
    push_modal,
    pushed_sent,
)
from bot.core.wire.chatra import VISITOR_FIELDS, ChatraClient, ChatraMessage
from bot.core.wire.text import CHATRA_TEXT_LIMIT, plain_to_slack

_THREAD_LINK = re.compile(r"archives/([A-Z0-9]+)/p(\d{10})(\d{6})")


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def visitor_form_errors(values: dict[str, str]) -> dict[str, str]:
    """What is wrong with an edit-visitor form, by field; empty when it can be saved."""
    errors = {
        field: f"At most {limit} characters, please."
        for field, (_, limit) in VISITOR_FIELDS.items()
        if len(values.get(field, "")) > limit
    }
    email = values.get("email", "")
    if email and "email" not in errors and not _EMAIL.fullmatch(email):
        errors["email"] = "This does not look like an email address."
    return errors


def pushed_text_errors(text: str) -> dict[str, str]:
    """Chatra takes 1 to 5,000 characters for a pushed message."""
    if not text.strip():
        return {"text": "Write something to send."}
    if len(text) > CHATRA_TEXT_LIMIT:
        return {"text": f"At most {CHATRA_TEXT_LIMIT:,} characters, please ({len(text):,} now)."}
    return {}


class ChatraTools(Protocol):
    async def get_client(self, client_id: str) -> dict[str, Any]: ...
    async def update_client(self, client_id: str, **fields: str | None) -> dict[str, Any]: ...
    async def send_pushed_message(
        self, client_id: str, text: str, agent_id: str | None = None, group_id: str | None = None
    ) -> str: ...
    async def get_pushed_message(self, message_id: str) -> ChatraMessage: ...
    async def get_message(self, message_id: str) -> ChatraMessage: ...
    async def edit_pushed_message(self, message_id: str, text: str) -> None: ...
    async def delete_pushed_message(self, message_id: str) -> None: ...


class VisitorTools:
    def __init__(self, context: Context, chatra: ChatraTools) -> None:
        self._chatra, self._clock, self._slack = chatra, context.clock, context.slack
        self._audit = context.audit
        self._threads, self._waits = context.store.threads, context.store.waits
        self._dashboard_url = context.policy.dashboard_url

    async def open_chats(self) -> SlackMessage:
        """`/chatra open`: each open chat, how long its visitor has waited, who has it."""
        workspace = self._slack.workspace_url
        chats = await open_chats(self._threads, self._waits, self._clock(), workspace)
        if not chats:
            return SlackMessage(text="No open chats.")
        lines = [f"*Open chats* ({len(chats)})", *(f"• {describe(chat)}" for chat in chats)]
        return SlackMessage(text="\n".join(lines))

    async def lookup(self, query: str) -> SlackMessage:
        """A visitor by client id, by email (of a chat we mirrored) or by a link to its thread."""
        client_id = await self._client_id_for(query.strip().strip("<>").split("|")[0])
        if client_id is None:
            return SlackMessage(text=f"No visitor found for `{plain_to_slack(query)}`.")
        try:
            found = await self._chatra.get_client(client_id)
        except MembraneError as error:
            if error.kind == "dependency_error" and error.status == 404:
                return SlackMessage(text=f"Chatra knows no visitor `{plain_to_slack(client_id)}`.")
            return SlackMessage(text=f":warning: {plain_to_slack(str(error))}")
        client = ChatraClient.model_validate({**(found or {}), "id": client_id})
        history = earlier_chats(*await self._threads.earlier(client_id), self._slack.workspace_url)
        return client_details(client, dashboard_url=self._dashboard_url, chats=history)

    async def edit_form(self, client_id: str) -> dict[str, Any]:
        """The edit-visitor modal, filled in from Chatra; or a modal saying why not."""
        try:
            client = await self._chatra.get_client(client_id)
        except MembraneError as error:
            return modal("Edit visitor", f":warning: {plain_to_slack(str(error))}")
        visitor = ChatraClient.model_validate({**(client or {}), "id": client_id})
        return edit_visitor_modal(client_id, visitor.contact())

    async def save(
        self, client_id: str, values: dict[str, str], by: str
    ) -> tuple[str, dict[str, Any]]:
        """update-client with the fields given, an emptied one as `null` (Chatra's way to remove
        a value); returns a sentence for the person and the visitor as Chatra has it now."""
        fields = {
            field: value or None for field, value in values.items() if field in VISITOR_FIELDS
        }
        try:
            updated = await self._chatra.update_client(client_id, **fields)
        except MembraneError as error:
            return f":warning: The visitor was not updated: {plain_to_slack(str(error))}", {}
        self._audit.record(by, "visitor_edited", client_id, ", ".join(sorted(fields)))
        who = plain_to_slack(client_id)
        return f":white_check_mark: Visitor `{who}` updated in Chatra.", updated or {}

    async def push(
        self,
        client_id: str,
        text: str,
        by: str,
        *,
        agent_id: str | None = None,
        group_id: str | None = None,
    ) -> SlackMessage:
        """send-pushed-message, optionally as a Chatra agent or group."""
        try:
            message_id = await self._chatra.send_pushed_message(client_id, text, agent_id, group_id)
        except MembraneError as error:
            why = plain_to_slack(str(error))
            return SlackMessage(text=f":warning: The pushed message was not sent: {why}")
        self._audit.record(by, "pushed_message_sent", client_id, message_id)
        return pushed_sent(message_id, client_id)

    async def edit_pushed_form(self, message_id: str) -> dict[str, Any]:
        try:
            found = await self._chatra.get_pushed_message(message_id)
        except MembraneError as error:
            return modal("Pushed message", f":warning: {plain_to_slack(str(error))}")
        return push_modal(found.clientId or "", message_id=message_id, text=found.body)

    async def edit_pushed(self, message_id: str, text: str, by: str) -> str:
        try:
            await self._chatra.edit_pushed_message(message_id, text)
        except MembraneError as error:
            return f":warning: The pushed message was not changed: {plain_to_slack(str(error))}"
        self._audit.record(by, "pushed_message_edited", what=message_id)
        return f":pencil2: Pushed message `{plain_to_slack(message_id)}` changed."

    async def delete_pushed(self, message_id: str, by: str) -> str:
        try:
            await self._chatra.delete_pushed_message(message_id)
        except MembraneError as error:
            return f":warning: The pushed message was not deleted: {plain_to_slack(str(error))}"
        self._audit.record(by, "pushed_message_deleted", what=message_id)
        return f":wastebasket: Pushed message `{plain_to_slack(message_id)}` deleted."

    async def client_of_thread(self, channel: str, thread_ts: str) -> str | None:
        thread = await self._threads.for_slack_thread(channel, thread_ts)
        return thread.client_id if thread else None

    async def pushed(self, message_id: str) -> SlackMessage:
        return await self._show("get_pushed_message", message_id, "Pushed message")

    async def message(self, message_id: str) -> SlackMessage:
        return await self._show("get_message", message_id, "Message")

    async def _show(self, action: str, message_id: str, what: str) -> SlackMessage:
        try:
            found = await getattr(self._chatra, action)(message_id)
        except MembraneError as error:
            return SlackMessage(text=f":warning: {plain_to_slack(str(error))}")
        lines = [f"*{what} `{plain_to_slack(message_id)}`*"]
        for label, value in (
            ("From", found.type),
            ("Agent", found.agentId),
            ("Visitor", found.clientId),
            ("Sent", found.createdAt),
            ("Via", found.receivedFrom),
            ("Text", found.body),
        ):
            if value not in (None, ""):
                lines.append(f"{label}: {plain_to_slack(str(value))}")
        return SlackMessage(text="\n".join(lines))

    async def _client_id_for(self, query: str) -> str | None:
        link = _THREAD_LINK.search(query)
        if link:
            thread = await self._threads.for_slack_thread(link[1], f"{link[2]}.{link[3]}")
            return thread.client_id if thread else None
        if "@" in query:
            return await self._threads.client_with_email(query.removeprefix("mailto:"))
        return query or None
