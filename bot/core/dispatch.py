"""Dispatch: the worker hands each stored event here, in order per chat and direction; a Chatra
webhook goes to the mirroring of its chat, a change written in Slack to the replies."""

import logging

from bot.core.context import Context
from bot.core.engine.lanes import Lease, client_of_lane
from bot.core.mirroring.chat_to_slack import ChatToSlack
from bot.core.replies.changes import ReplyChanges
from bot.core.replies.sending import SlackToChatra
from bot.core.wire.chatra import parse_webhook_body, read_webhook
from bot.core.wire.slack import SlackChange, SlackEdit, SlackReply
from storage import InboxEvent

log = logging.getLogger(__name__)


class Dispatch:
    def __init__(
        self,
        context: Context,
        chats: ChatToSlack,
        replies: SlackToChatra,
        changes: ReplyChanges,
    ) -> None:
        store = context.store
        self._inbox, self._threads, self._posts = store.inbox, store.threads, context.posts
        self._chat, self._replies, self._changes = chats, replies, changes
        self._stored_before_start = 0  # events up to it may be half done: `started` says
        self._rebooted = False  # the machine booted since then: unsynced progress may be lost

    async def started(self, *, rebooted: bool | None = None) -> None:
        """The newest event stored before this process started: a reply's up to it may have
        been half sent by the one before; `rebooted`: and what it recorded without waiting for
        the disk may be lost (its sending mark). None: the bridge cannot tell (its database
        keeps everything, or the system does not say)."""
        self._stored_before_start = await self._inbox.last_id()
        self._rebooted = bool(rebooted)
        self._replies.tells_reboots(rebooted is not None)

    async def chat_name(self, lane: str) -> str:
        """A chat as an operator finds it in Slack: its client id and thread (no visitor's
        name: logs keep no personal data)."""
        client_id = client_of_lane(lane)
        try:
            thread = await self._threads.for_client(client_id)
        except Exception:  # the database is what failed: the client id will do
            thread = None
        where = f", thread {thread.channel}/{thread.thread_ts}" if thread else ""
        return f"chat {client_id}{where}"

    async def process(self, event: InboxEvent, lease: Lease) -> bool:
        """Carry out one stored event (called by the worker, in order per conversation, while
        this bridge holds its lane's `lease`); whether it was recorded done with what it did."""
        if event.source == "chatra":
            webhook, skipped = read_webhook(parse_webhook_body(event.payload))
            for channel in await self._chat.chat_event(webhook, event.id, lease):
                self._posts.wake(channel)
            name = await self.chat_name(event.conversation) if skipped else ""
            for reason in skipped:  # once the chat's thread is recorded, to be named
                log.warning(
                    "event %s (%s): %s, skipped", event.id, name, reason,
                    extra={"chat": event.conversation},
                )  # fmt: skip
            return True
        change = SlackChange.model_validate_json(event.payload).change
        if isinstance(change, SlackReply):
            in_doubt = self._rebooted and event.id <= self._stored_before_start
            return await self._replies.reply_written(
                change, lease, event_id=event.id, in_doubt=in_doubt, taken_over=event.taken_over
            )
        if isinstance(change, SlackEdit):
            await self._changes.edited(change, lease)
        else:
            await self._changes.deleted(change, lease)
        return False
