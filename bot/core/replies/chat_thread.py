"""Which chat a change written in Slack belongs to, and what is said in its thread when a
change does not reach the visitor."""

import logging

from bot.core.context import Context
from bot.core.engine.lanes import Lease
from bot.core.posting.thread_owner import ThreadOwner, owner_now
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.notices import delivery_warning
from bot.core.wire.slack import SlackDeletion, SlackEdit, SlackReply
from storage import Thread

log = logging.getLogger(__name__)


class ChatThread:
    def __init__(self, context: Context) -> None:
        self._store = store = context.store
        self._db = store.db
        self._posts = context.posts

    async def of(
        self, change: SlackReply | SlackEdit | SlackDeletion, lease: Lease | None = None
    ) -> Thread | None:
        """The chat's thread the change is in; None for any other thread. LeaseLost when the
        change's lane (`lease`) was taken over: what it changes in Chatra is left to the bridge
        that took it."""

        def read() -> Thread | None:
            if lease is not None:
                lease.check()
            return self.of_now(change).chat

        return await self._db.run("ChatThread.of", read, "read")

    def of_now(self, change: SlackReply | SlackEdit | SlackDeletion) -> ThreadOwner:
        """On the database's thread: whose thread the change is in."""
        return owner_now(self._store, change.channel, change.thread_ts)

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
        warning = self.warning(thread, what, quoted, reason, retry_ts)
        await self._posts.post(key, thread.channel, warning, thread=thread)

    @staticmethod
    def warning(
        thread: Thread, what: str, quoted: str, reason: str, retry_ts: str | None = None
    ) -> SlackMessage:
        """The warning itself (and its log line), for a unit that owes it to the thread."""
        log.warning(
            "chat %s: %s not delivered: %s",
            thread.client_id,
            what.lower(),
            reason,
            extra={"chat": thread.client_id},
        )
        return delivery_warning(what, quoted, reason, retry_ts)
