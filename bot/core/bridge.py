"""The core: events are stored first, then carried out by the two directions.

Knows nothing of aiohttp or Bolt: Slack and Chatra are reached through `bot.core.ports`, state
through `storage`. Every use-case is safe to run twice for the same input: what was already done is
recorded, and a second run finds it and stops.
"""

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from bot.core.chat_to_slack import ChatToSlack
from bot.core.chatra_events import client_id_of, parse_webhook_body, read_webhook
from bot.core.delivery import SlackDelivery
from bot.core.escalation import Escalation
from bot.core.health import Health
from bot.core.ports import ChatraPort, FilePort, SlackPort
from bot.core.roster import Roster
from bot.core.schedule import BusinessHours
from bot.core.slack_events import SlackChange, SlackDeletion, SlackEdit, SlackReply
from bot.core.slack_to_chatra import SlackToChatra
from bot.core.views import failed_events_notice, recovered_notice
from bot.core.worker import lane
from storage import Agents, Inbox, InboxEvent, Messages, SlackPosts, Threads, Waits

log = logging.getLogger(__name__)


class Bridge:
    def __init__(
        self,
        *,
        slack: SlackPort,
        chatra: ChatraPort,
        inbox: Inbox,
        threads: Threads,
        messages: Messages,
        slack_posts: SlackPosts,
        agents: Agents,
        channel: str,
        dashboard_url: str,
        arrived: asyncio.Event,
        echo_grace: float = 30.0,
        note_prefixes: tuple[str, ...] = ("//", "note:"),
        default_agent: str | None = None,
        idle_gap: float = 24 * 3600,
        on_call: Roster,
        waits: Waits,
        clock: Callable[[], float] = time.time,
        nudge_after: float = 3 * 60,
        escalate_after: float = 10 * 60,
        files: FilePort,
        opening_hours: BusinessHours | None = None,
        away_message: str | None = None,
        received_from: str = "chatra-bridge",
        health: Health | None = None,
    ) -> None:
        self.health = health or Health()
        self._inbox = inbox
        self._threads = threads
        self._messages = messages
        self._channel = channel
        self._arrived = arrived
        self._slack_posts = slack_posts
        self._delivery = delivery = SlackDelivery(slack, slack_posts)
        self.chat = ChatToSlack(
            slack=slack,
            delivery=delivery,
            threads=threads,
            messages=messages,
            agents=agents,
            channel=channel,
            dashboard_url=dashboard_url,
            idle_gap=idle_gap,
            on_call=on_call,
            waits=waits,
            clock=clock,
            opening_hours=opening_hours,
            away_message=away_message,
            received_from=received_from,
        )
        self.replies = SlackToChatra(
            slack=slack,
            chatra=chatra,
            delivery=delivery,
            threads=threads,
            messages=messages,
            slack_posts=slack_posts,
            agents=agents,
            channel=channel,
            store=self._store,
            echo_grace=echo_grace,
            note_prefixes=note_prefixes,
            default_agent=default_agent,
            waits=waits,
            files=files,
        )
        self.escalation = Escalation(
            waits=waits,
            threads=threads,
            on_call=on_call,
            delivery=delivery,
            slack=slack,
            clock=clock,
            nudge_after=nudge_after,
            escalate_after=escalate_after,
        )

    @property
    def channel(self) -> str:
        """The support channel where chats are mirrored."""
        return self._channel

    # -- intake: store first, so an acknowledged event is never lost --

    def accept_chatra(self, body: str, data: dict[str, Any]) -> bool:
        """Store a webhook (its body as received) for processing; False when the very same body
        was already stored. `data` is the body as `parse_webhook_body` read it."""
        client_id = client_id_of(data)
        assert client_id is not None  # parse_webhook_body refuses a webhook without one
        key = "chatra:" + hashlib.sha256(body.encode()).hexdigest()
        stored = self._store("chatra", key, client_id, body)
        webhook, _ = read_webhook(data)
        for message in webhook.messages:
            if message.type == "agent":  # settle, right now, any send of ours waiting on its echo
                self._messages.adopt_echo(client_id, message.key, message.body)
        return stored

    def accept_slack(self, dedupe_key: str, change: SlackReply | SlackEdit | SlackDeletion) -> bool:
        """Store a change in a mirrored thread; False when it is a duplicate or not ours."""
        thread = self._threads.for_slack_thread(change.channel, change.thread_ts)
        if thread is not None:
            conversation = lane(thread.client_id, "slack")
        elif self.replies.is_internal_thread(change.channel, change.thread_ts):
            conversation = f"internal:{change.thread_ts}"
        else:
            log.debug("ignored %s in unmapped thread %s", change.kind, change.thread_ts)
            return False
        payload = SlackChange(change=change).model_dump_json()
        return self._store("slack", "slack:" + dedupe_key, conversation, payload)

    def _store(self, source: str, key: str, conversation: str, payload: str) -> bool:
        event_id = self._inbox.add(source, key, conversation, payload)
        if event_id is not None:
            self.health.waited(event_id, source)  # when what it needs is down
            self._arrived.set()
        return event_id is not None

    async def report_recoveries(self) -> None:
        """Once an outage is over, tell the channel how long it lasted and what it delayed."""
        for outage in self.health.take_ended():
            if not outage.delayed:
                continue
            try:
                key = f"recovered:{outage.service}:{outage.since:.0f}"
                await self._delivery.post(key, self._channel, recovered_notice(outage))
            except Exception:
                self.health.untold(outage)  # told next round
                raise

    async def report_failed_events(self) -> None:
        """Tell the channel of events that could not be carried out since it was last told, at
        most once an hour, with a count."""
        last = self._slack_posts.latest("failed-events:")
        if last is not None and time.time() - last.created_at < 3600:
            return
        reported = int(last.key.rsplit(":", 1)[1]) if last else 0
        failed = self._inbox.failed(after_id=reported)
        if failed:
            notice = failed_events_notice(len(failed), failed[-1].error)
            await self._delivery.post(f"failed-events:{failed[-1].id}", self._channel, notice)

    async def process(self, event: InboxEvent) -> None:
        """Carry out one stored event (called by the worker, in order per conversation)."""
        if event.source == "chatra":
            webhook, skipped = read_webhook(parse_webhook_body(event.payload))
            for reason in skipped:
                log.warning(
                    "event %s (chat %s): %s, skipped",
                    event.id,
                    event.conversation,
                    reason,
                    extra={"chat": event.conversation},
                )
            await self.chat.chat_event(webhook)
            return
        change = SlackChange.model_validate_json(event.payload).change
        if isinstance(change, SlackReply):
            await self.replies.reply_written(change)
            record = self._messages.by_slack_ts(change.ts)
            if record is not None and record.state == "sent":  # the first answer claims the chat
                await self.chat.claim(record.client_id, change.user, only_if_unowned=True)
        elif isinstance(change, SlackEdit):
            await self.replies.reply_edited(change)
        else:
            await self.replies.reply_deleted(change)
