"""Which chat a change written in Slack belongs to, and what is said in its thread when a
change does not reach the visitor."""

import logging

from bot.core.context import Context
from bot.core.errors import ThreadNotKnownYet
from bot.core.posting import post_keys
from bot.core.slack_ui.notices import delivery_warning
from bot.core.wire.slack import SlackDeletion, SlackEdit, SlackReply
from storage import Thread

log = logging.getLogger(__name__)


class ChatThread:
    def __init__(self, context: Context) -> None:
        store = context.store
        self._db, self._threads, self._slack_posts = store.db, store.threads, store.posts
        self._delivery = context.delivery

    async def of(self, change: SlackReply | SlackEdit | SlackDeletion) -> Thread | None:
        return await self._db.run("ChatThread.of", lambda: self.of_now(change), "read")

    def of_now(self, change: SlackReply | SlackEdit | SlackDeletion) -> Thread | None:
        """On the database's thread: the chat's thread the change is in; ThreadNotKnownYet
        while the chat's card is posted but its thread not yet recorded (waited out: the change
        is never dropped)."""
        thread = self._threads.for_slack_thread.now(change.channel, change.thread_ts)
        if thread is None and post_keys.client_of_card(
            self._slack_posts.key_at.now(change.channel, change.thread_ts)
        ):
            raise ThreadNotKnownYet(f"thread {change.channel}/{change.thread_ts} not recorded yet")
        return thread

    async def warn(
        self,
        thread: Thread,
        key: str,
        what: str,
        quoted: str,
        reason: str,
        retry_ts: str | None = None,
    ) -> None:
        """Say in the thread what did not reach the visitor; `key` makes it appear once."""
        log.warning(
            "chat %s: %s not delivered: %s",
            thread.client_id,
            what.lower(),
            reason,
            extra={"chat": thread.client_id},
        )
        warning = delivery_warning(what, quoted, reason, retry_ts)
        await self._delivery.post(key, thread.channel, warning, thread.thread_ts)
