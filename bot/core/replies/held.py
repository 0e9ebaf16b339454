"""Replies held while Chatra is disconnected in Membrane, and replies sent again: held ones once
Chatra is back (the oldest first, as a probe), a failed one when a person clicks *Try again*."""

import logging
import uuid
from collections.abc import Awaitable, Callable

from bot.core.context import Context
from bot.core.engine.lanes import lane
from bot.core.errors import MembraneError
from bot.core.posting import post_keys
from bot.core.replies.life import ReplyLife, may_try_again
from bot.core.slack_ui.notices import outage_notice, outage_over_notice, retrying_notice
from bot.core.wire.slack import Retry, RetryReason, SlackChange, SlackEdit, SlackReply
from storage import Message

log = logging.getLogger(__name__)
Enqueue = Callable[[str, str, str, str], Awaitable[bool]]  # (source, dedupe key, lane, payload)


class HeldReplies:
    def __init__(self, context: Context, life: ReplyLife, enqueue: Enqueue) -> None:
        store = context.store
        self._threads, self._messages, self._slack_posts = (
            store.threads,
            store.messages,
            store.posts,
        )
        self._slack, self._posts = context.slack, context.posts
        self._channel = context.policy.channel
        self._life, self._enqueue = life, enqueue
        self._audit = context.audit

    async def hold(self, record_id: int, text: str, error: MembraneError, first: bool) -> None:
        """Chatra is disconnected in Membrane: keep the reply until it is back, and say so in the
        channel once per outage, not once per message."""
        if first:
            log.warning("Chatra disconnected: holding replies (%s)", error)
            notice = outage_notice(str(error))
            outage = await self._slack_posts.count(post_keys.RESUMED) + 1  # a new outage begins
            await self._posts.post(post_keys.paused(outage), self._channel, notice)
        await self._life.held(record_id, text, error)

    async def resume(self) -> None:
        """A send went through: Chatra is back. Send every held reply, in order."""
        held = await self._messages.held()
        log.info("Chatra reachable again: sending %d held replies", len(held))
        outage = await self._slack_posts.count(post_keys.PAUSED)  # the outage that ends: said once
        notice = outage_over_notice()
        await self._posts.post(post_keys.resumed(outage), self._channel, notice)
        for reply in held:
            await self.requeue(reply, Retry(reason=RetryReason.RESUMED, id=str(outage)))

    async def probe(self) -> bool:
        """While replies are held, try the oldest again; its success resumes the rest."""
        held = await self._messages.held()
        if held:
            probe = Retry(reason=RetryReason.PROBE, id=uuid.uuid4().hex)
            await self.requeue(held[0], probe, still_held=True)
        return bool(held)

    async def retry(self, reply_ts: str, click_id: str, by: str) -> str | None:
        """A person (`by`) asked to send a failed reply again: store the retry; returns its
        text, or None when there is nothing to retry (unknown, sent, being retried)."""
        record = await self._messages.by_slack_ts(reply_ts)
        if record is None or not may_try_again(record):
            return None
        await self._life.cleared_to_send_again(record.id)
        await self.requeue(record, Retry(reason=RetryReason.CLICKED, id=click_id))
        self._audit.record(by, "reply_retried", what=reply_ts)
        return record.sent_text or record.text or ""

    async def requeue(self, record: Message, retry: Retry, *, still_held: bool = False) -> None:
        """Store a new try of a reply that did not reach Chatra, for the reason `retry` says."""
        thread = await self._threads.for_client(record.client_id)
        if thread is None or record.slack_ts is None:
            return
        await self._life.to_try_again(record.id, still_held=still_held)
        again = SlackReply(
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            ts=record.slack_ts,
            user=record.author or "",
            text=record.text or "",
            retry=retry,
        )
        payload = SlackChange(change=again).model_dump_json()
        key = f"slack:retry:{record.slack_ts}:{retry.key}"
        await self._enqueue("slack", key, lane(thread.client_id, "slack"), payload)

    async def requeue_edit(self, record: Message, text: str, click_id: str) -> None:
        """Store an edit whose author said to send it though it names teammates."""
        thread = await self._threads.for_client(record.client_id)
        if thread is None or record.slack_ts is None:
            return
        edit = SlackEdit(
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            ts=record.slack_ts,
            user=record.author or "",
            text=text,
            confirmed=True,
        )
        payload = SlackChange(change=edit).model_dump_json()
        key = f"slack:confirmed-edit:{record.slack_ts}:{click_id}"
        await self._enqueue("slack", key, lane(thread.client_id, "slack"), payload)

    async def show_retrying(self, channel: str, warning_ts: str, quoted: str, user_id: str) -> None:
        name = await self._slack.user_name(user_id) or "someone"
        await self._slack.update(channel, warning_ts, retrying_notice(quoted, name))
