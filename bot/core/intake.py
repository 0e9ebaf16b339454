"""Intake: what Chatra and Slack send is stored before it is acknowledged, once, in the lane of
its chat, and the worker is told. Past its patience a request is answered 503 (Chatra and Slack
send it again); what was being stored may still be stored, and is then recognised by its key."""

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from bot.core.engine.arrivals import Arrivals
from bot.core.engine.health import Health
from bot.core.engine.lanes import internal_lane, lane
from bot.core.engine.patience import patiently
from bot.core.errors import ThreadNotKnownYet
from bot.core.posting.thread_owner import owner_now
from bot.core.wire.chatra import client_id_of, read_webhook
from bot.core.wire.slack import SlackChange, SlackDeletion, SlackEdit, SlackReply
from storage import Claimed, Store

log = logging.getLogger(__name__)
Stored = tuple[int | None, Claimed | None]  # an event's id (None: a duplicate), its lane taken


class Intake:
    """Stores an accepted event before it is acknowledged, and tells the worker."""

    def __init__(
        self,
        store: Store,
        health: Health,
        arrivals: Arrivals,
        received_from: str,
        *,
        holder: str = "",
        lease: float = 20.0,
    ) -> None:
        """`holder`: this bridge, which takes the lane of what it stores for `lease` seconds
        when nobody holds it: the worker then claims nothing more."""
        self._store, self._health, self.arrivals = store, health, arrivals
        self._holder, self._lease = holder, lease
        self._inbox, self._messages = store.inbox, store.messages
        self._received_from = received_from  # the mark our sends carry: their echoes are ours
        self._storing: set[asyncio.Future[bool]] = set()

    async def __call__(self, source: str, key: str, lane: str, payload: str) -> bool:
        """False when an event with the same key was stored before (here or by another bridge)."""
        return await self.store(source, lambda: self._add_now(source, key, lane, payload))

    def _add_now(self, source: str, key: str, lane: str, payload: str) -> "Stored":
        """On the database's thread: the event stored (its id; None: a duplicate), in its lane,
        which this bridge takes when nobody holds it."""
        stored = self._store.inbox.add.now(source, key, lane, payload)
        return stored, self._store.lanes.take.now(lane, self._holder, self._lease)

    async def store(self, source: str, unit: Callable[[], "Stored"]) -> bool:
        """Carry out `unit` (it stores an event, with what goes with it, and gives its id; None:
        a duplicate, or nothing to store) as one durable unit of work, and tell the worker.
        One that is given up on (the request answered 503) still goes on: what it stores
        after all is told to the worker, so that it goes before what comes next in its chat."""
        storing = asyncio.ensure_future(self._store_now(source, unit))
        self._storing.add(storing)
        storing.add_done_callback(self._stored)
        return await asyncio.shield(storing)

    def _stored(self, storing: asyncio.Future[bool]) -> None:
        self._storing.discard(storing)
        if not storing.cancelled():
            storing.exception()  # retrieved: its request was answered, or given up on

    async def _store_now(self, source: str, unit: Callable[[], "Stored"]) -> bool:
        event_id, claimed = await self._store.db.run(
            "Intake.store", unit, "durable", answering=True
        )
        if event_id is not None:
            if source != "chatra":  # a Chatra event's posts are counted when they wait, by key
                await self._health.waited(event_id, source)  # when what it needs is down
            self.arrivals.stored(event_id, claimed)
        return event_id is not None

    async def accept_chatra(self, body: str, data: dict[str, Any]) -> bool:
        """Store a webhook (its body as received) for processing; False when the very same body
        was already stored. `data` is the body as `parse_webhook_body` read it."""
        client_id = client_id_of(data)
        assert client_id is not None  # parse_webhook_body refuses a webhook without one
        key = "chatra:" + hashlib.sha256(body.encode()).hexdigest()
        agents = [m for m in read_webhook(data)[0].messages if m.type == "agent" and m.by_a_person]
        mark = self._received_from

        def store() -> Stored:
            stored = self._add_now("chatra", key, client_id, body)
            for message in agents:  # settle, right now, any send of ours waiting on its echo
                ours = message.receivedFrom == mark
                self._messages.adopt_echo.now(client_id, message.key, message.body, ours)
            return stored

        async with patiently("the webhook"):
            return await self.store("chatra", store)

    async def accept_slack(
        self,
        dedupe_key: str,
        change: SlackReply | SlackEdit | SlackDeletion,
        *,
        under_our_post: bool = False,
    ) -> bool:
        """Store a change in a mirrored thread; False when it is a duplicate or not ours.
        ThreadNotKnownYet when Slack says the thread is under a post of ours (`under_our_post`)
        that nothing here knows yet: a card whose post is not recorded yet (Slack's answer is on
        its way, or a bridge died before recording it: the next poster finds it). Slack sends
        the change again; no reply under a card of ours is dropped. Under a post of ours that
        is no chat (a notice), a change is ignored."""
        async with patiently(f"the Slack {change.kind}"):
            return await self._accept_slack(dedupe_key, change, under_our_post)

    async def _accept_slack(
        self, dedupe_key: str, change: SlackReply | SlackEdit | SlackDeletion, under_our_post: bool
    ) -> bool:
        channel, thread_ts = change.channel, change.thread_ts
        payload = SlackChange(change=change).model_dump_json()

        def store() -> Stored:  # which chat's lane, and the event in it: one unit
            owner = owner_now(self._store, channel, thread_ts)
            if owner.chat is not None:
                conversation = lane(owner.chat.client_id, "slack")
            elif owner.internal:
                conversation = internal_lane(thread_ts)
            elif under_our_post and not owner.ours:
                raise ThreadNotKnownYet(f"thread {channel}/{thread_ts} is not recorded yet")
            else:
                log.debug("ignored %s in unmapped thread %s", change.kind, thread_ts)
                return None, None
            return self._add_now("slack", "slack:" + dedupe_key, conversation, payload)

        return await self.store("slack", store)
