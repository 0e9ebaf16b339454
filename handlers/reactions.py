"""A :white_check_mark: on a chat's card marks the chat done; taking it off opens it again (unless
a teammate's stays). Only the team acts on visitors: anyone else's reaction does nothing. Each
reaction event is carried out once, whenever Slack sends it again."""

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.core.door import FrontDoor
from bot.core.slack_ui.ids import DONE_MARKS

log = logging.getLogger(__name__)


class CardReactions:
    def __init__(self, door: FrontDoor) -> None:
        self._door = door

    async def added(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        client_id = await self._card_marked(event, context)
        if client_id is not None:
            await self._door.cards.done(client_id, event["user"], once=_once(body))

    async def removed(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        client_id = await self._card_marked(event, context)
        if client_id is not None:
            await self._door.cards.unmarked(client_id, event["user"], once=_once(body))

    async def _card_marked(self, event: dict[str, Any], context: AsyncBoltContext) -> str | None:
        """The chat whose card a person of the team marked done (or unmarked); else None."""
        item, user = event.get("item") or {}, str(event.get("user") or "")
        if event.get("reaction") not in DONE_MARKS or item.get("type") != "message":
            return None
        if not user or user == context.bot_user_id:
            return None
        client_id = await self._door.cards.client_of_card(
            str(item.get("channel", "")), str(item.get("ts", ""))
        )
        if client_id is None:  # a reaction on anything else: a reply, a notice
            return None
        refusal = await self._door.access.refusal(user)
        if refusal is not None:
            log.info("%s's reaction on chat %s ignored: %s", user, client_id, refusal)
            return None
        return client_id


def _once(body: dict[str, Any]) -> str | None:
    """What makes a reaction event one of a kind: Slack's event id, the same on every retry."""
    return f"event:{body['event_id']}" if body.get("event_id") else None


def register(app: AsyncApp, door: FrontDoor) -> None:
    listeners = CardReactions(door)
    app.event("reaction_added")(listeners.added)
    app.event("reaction_removed")(listeners.removed)
