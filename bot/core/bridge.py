"""The core: events are stored first, then carried out by the two directions.

Knows nothing of aiohttp or Bolt: Slack and Chatra are reached through `bot.core.ports`, state
through `storage`. Every use-case is safe to run twice for the same input: what was already done is
recorded, and a second run finds it and stops.
"""

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.core.chats.escalation import Escalation
from bot.core.chats.mirroring import ChatToSlack
from bot.core.context import Context
from bot.core.engine.health import Health
from bot.core.engine.patience import patiently
from bot.core.engine.worker import Arrivals, lane
from bot.core.errors import ThreadNotKnownYet
from bot.core.posting import post_keys
from bot.core.replies.sending import SlackToChatra
from bot.core.slack_ui.card import CardState
from bot.core.slack_ui.notices import failed_events_notice, recovered_notice
from bot.core.wire.chatra import client_id_of, parse_webhook_body, read_webhook
from bot.core.wire.slack import SlackChange, SlackDeletion, SlackEdit, SlackReply
from storage import InboxEvent, Store

log = logging.getLogger(__name__)


class Intake:
    """Stores an accepted event before it is acknowledged, and tells the worker."""

    def __init__(self, store: Store, health: Health, arrivals: Arrivals) -> None:
        self._store, self._health, self.arrivals = store, health, arrivals
        self._storing: set[asyncio.Future[bool]] = set()

    async def __call__(self, source: str, key: str, lane: str, payload: str) -> bool:
        """False when an event with the same key was stored before (here or by another bridge)."""
        return await self.store(
            source, lambda: self._store.inbox.add.now(source, key, lane, payload)
        )

    async def store(self, source: str, unit: Callable[[], int | None]) -> bool:
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

    async def _store_now(self, source: str, unit: Callable[[], int | None]) -> bool:
        event_id = await self._store.db.run("Intake.store", unit, "durable", answering=True)
        if event_id is not None:
            if source != "chatra":  # a Chatra event's posts are counted when they wait, by key
                await self._health.waited(event_id, source)  # when what it needs is down
            self.arrivals.stored(event_id)
        return event_id is not None


class Bridge:
    """The bridge's use cases over chats: intake, both directions, escalation, outages."""

    def __init__(
        self,
        context: Context,
        intake: Intake,
        chat: ChatToSlack,
        replies: SlackToChatra,
        escalation: Escalation,
        health: Health,
    ) -> None:
        store = context.store
        self._inbox, self._threads, self._messages = store.inbox, store.threads, store.messages
        self._slack_posts = store.posts
        self._intake, self._delivery = intake, context.delivery
        self._chat, self._replies, self._escalation = chat, replies, escalation
        self.health = health
        self._channel, self._received_from = context.policy.channel, context.policy.received_from
        self._audit = context.audit
        self._stored_before_start = 0  # events up to it may be half done: `started` says
        self._rebooted = False  # the machine booted since then: unsynced progress may be lost

    async def started(self, *, rebooted: bool | None = None) -> None:
        """The newest event stored before this process started: pending ones up to it may have
        been half carried out by the one before; `rebooted`: and what it recorded without
        waiting for the disk may be lost (a reply it was sending, say). None: the bridge cannot
        tell (its database keeps everything, or the system does not say)."""
        self._stored_before_start = await self._inbox.last_id()
        self._rebooted = bool(rebooted)
        self._replies.tells_reboots(rebooted is not None)

    @property
    def channel(self) -> str:
        """The support channel where chats are mirrored."""
        return self._channel

    # -- what people do in Slack, beyond writing in a thread --

    async def retry_reply(self, reply_ts: str, click_id: str, by: str) -> str | None:
        quoted = await self._replies.held.retry(reply_ts, click_id)
        if quoted is not None:
            self._audit.record(by, "reply_retried", what=reply_ts)
        return quoted

    async def show_retrying(self, channel: str, warning_ts: str, quoted: str, user: str) -> None:
        await self._replies.held.show_retrying(channel, warning_ts, quoted, user)

    async def claim(self, client_id: str, user: str) -> bool:
        return await self._chat.claim(client_id, user)

    async def discuss_internally(self, client_id: str) -> str | None:
        return await self._chat.discuss_internally(client_id)

    async def visitor_changed(self, client_id: str, details: dict[str, object]) -> None:
        await self._chat.visitor_changed(client_id, details)

    async def chat_name(self, lane: str) -> str:
        """A chat as an operator finds it in Slack: its client id and thread (no visitor's
        name: logs keep no personal data)."""
        client_id = lane.removesuffix(":replies")
        try:
            thread = await self._threads.for_client(client_id)
        except Exception:  # the database is what failed: the client id will do
            thread = None
        where = f", thread {thread.channel}/{thread.thread_ts}" if thread else ""
        return f"chat {client_id}{where}"

    # -- now and then --

    async def check_waits(self) -> None:
        await self._escalation.check()

    async def probe_held(self) -> bool:
        return await self._replies.held.probe()

    # -- intake: store first, so an acknowledged event is never lost --

    async def accept_chatra(self, body: str, data: dict[str, Any]) -> bool:
        """Store a webhook (its body as received) for processing; False when the very same body
        was already stored. `data` is the body as `parse_webhook_body` read it."""
        client_id = client_id_of(data)
        assert client_id is not None  # parse_webhook_body refuses a webhook without one
        key = "chatra:" + hashlib.sha256(body.encode()).hexdigest()
        agents = [m for m in read_webhook(data)[0].messages if m.type == "agent"]
        mark = self._received_from

        def store() -> int | None:
            event_id = self._inbox.add.now("chatra", key, client_id, body)
            for message in agents:  # settle, right now, any send of ours waiting on its echo
                ours = message.receivedFrom == mark
                self._messages.adopt_echo.now(client_id, message.key, message.body, ours)
            return event_id

        async with patiently("the webhook"):
            return await self._intake.store("chatra", store)

    async def accept_slack(
        self,
        dedupe_key: str,
        change: SlackReply | SlackEdit | SlackDeletion,
        *,
        under_our_post: bool = False,
    ) -> bool:
        """Store a change in a mirrored thread; False when it is a duplicate or not ours.
        ThreadNotKnownYet when Slack says the thread is under a post of ours (`under_our_post`)
        that nothing here knows yet: a card whose post is still being recorded. Slack sends
        the change again; no reply under a card of ours is dropped. Under a post of ours that
        is no chat (a notice), a change is ignored."""
        async with patiently(f"the Slack {change.kind}"):
            return await self._accept_slack(dedupe_key, change, under_our_post)

    async def _accept_slack(
        self, dedupe_key: str, change: SlackReply | SlackEdit | SlackDeletion, under_our_post: bool
    ) -> bool:
        channel, thread_ts = change.channel, change.thread_ts
        payload = SlackChange(change=change).model_dump_json()

        def store() -> int | None:  # which chat's lane, and the event in it: one unit
            thread = self._threads.for_slack_thread.now(channel, thread_ts)
            post = self._slack_posts.key_at.now(channel, thread_ts) if thread is None else None
            card_of = post_keys.client_of_card(post)
            if thread is not None:
                conversation = lane(thread.client_id, "slack")
            elif card_of is not None:  # its thread is being recorded: the chat's lane waits
                conversation = lane(card_of, "slack")
            elif post_keys.is_internal(post):
                conversation = f"internal:{thread_ts}"
            elif under_our_post and post is None:
                raise ThreadNotKnownYet(f"thread {channel}/{thread_ts} is not recorded yet")
            else:
                log.debug("ignored %s in unmapped thread %s", change.kind, thread_ts)
                return None
            return self._inbox.add.now("slack", "slack:" + dedupe_key, conversation, payload)

        return await self._intake.store("slack", store)

    async def report_recoveries(self) -> None:
        """Once an outage is over, tell the channel how long it lasted and what it delayed."""
        for outage in await self.health.ended():
            if outage.delayed:
                key = post_keys.recovered(outage.service, outage.since)
                await self._delivery.post(key, self._channel, recovered_notice(outage))
            await self.health.told(outage)

    async def report_failed_events(self) -> None:
        """Tell the channel of events that could not be carried out since it was last told, at
        most once an hour, with a count."""
        last = await self._slack_posts.latest(post_keys.FAILED_EVENTS)
        if last is not None and time.time() - last.created_at < 3600:
            return
        reported = post_keys.last_event_of(last.key) if last else 0
        failed = await self._inbox.failed(after_id=reported)
        if failed:
            notice = failed_events_notice(len(failed), failed[-1].error)
            key = post_keys.failed_events(failed[-1].id)
            await self._delivery.post(key, self._channel, notice)

    async def process(self, event: InboxEvent) -> Awaitable[None] | None:
        """Carry out one stored event (called by the worker, in order per conversation); for a
        chat event, what is returned ends when its posts, queued in order, are made."""
        if event.source == "chatra":
            webhook, skipped = read_webhook(parse_webhook_body(event.payload))
            replay = event.id <= self._stored_before_start or event.attempts > 0 or event.taken_over
            posting = await self._chat.chat_event(webhook, replay=replay)
            for reason in skipped:  # after: the chat's thread exists, to be named
                log.warning(
                    "event %s (%s): %s, skipped",
                    event.id,
                    await self.chat_name(event.conversation),
                    reason,
                    extra={"chat": event.conversation},
                )
            return posting
        change = SlackChange.model_validate_json(event.payload).change
        if isinstance(change, SlackReply):
            in_doubt = self._rebooted and event.id <= self._stored_before_start
            answered = await self._replies.reply_written(change, in_doubt=in_doubt)
            if answered is not None and not CardState.of(answered.card).owner:
                # the first answer claims the chat
                await self._chat.claim(answered.client_id, change.user, only_if_unowned=True)
        elif isinstance(change, SlackEdit):
            await self._replies.changes.edited(change)
        else:
            await self._replies.changes.deleted(change)
        return None
