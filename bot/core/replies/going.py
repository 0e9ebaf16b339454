"""A reply on its way to the visitor, and how its handling ends: one unit of work that records
its state, owes the notices the thread is to show of it and marks its event done."""

from dataclasses import dataclass, field

from bot.core.context import Context
from bot.core.engine.lanes import Lease
from bot.core.ports import ReplyState
from bot.core.posting import post_keys
from bot.core.replies.chat_thread import ChatThread
from bot.core.replies.life import ReplyLife
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.wire.slack import SlackReply
from storage import Thread
from storage.states import MessageState


@dataclass
class Going:
    """A reply on its way to the visitor: what each of its units of work needs."""

    reply: SlackReply
    thread: Thread
    lease: Lease | None  # its lane's: checked, and renewed, by every unit
    event_id: int | None  # its event, recorded done in the unit that ends it
    held: bool = False  # replies are held (Chatra was away): found as it is sent
    taken_over: bool = False  # from a bridge that stopped answering: its record may come late
    notices: list[tuple[str, SlackMessage]] = field(default_factory=list)  # with the last unit

    def fence(self) -> None:
        """On the database's thread: LeaseLost when the lane was taken over; else renewed."""
        if self.lease is not None:
            self.lease.fence()

    def check(self) -> None:
        """The same, without renewing it: a read, before an effect outside."""
        if self.lease is not None:
            self.lease.check()


class Endings:
    def __init__(self, context: Context, life: ReplyLife, chat_thread: ChatThread) -> None:
        self._slack, self._posts, self._store = context.slack, context.posts, context.store
        self._life, self._chat_thread = life, chat_thread

    async def end(self, going: Going, state: MessageState, **values: object) -> bool:
        """One unit: the reply recorded in `state` (with `values`), its notices owed to Slack
        and its event done. True: the event is recorded done."""
        reply, thread = going.reply, going.thread
        messages = self._store.messages

        def end() -> None:
            going.fence()
            record = messages.claim_slack_reply.now(
                reply.ts, thread.client_id, reply.text, reply.user
            )
            self._life.ended_now(record.id, state, **values)
            self.owe_notices(going)

        await self._store.db.run("SlackToChatra.end", end, "write")
        self._posts.wake(thread.channel)
        return going.event_id is not None

    def owe_notices(self, going: Going) -> None:
        """On the database's thread, in a reply's last unit: what the thread is to show of it,
        and its event done."""
        for key, notice in going.notices:
            self._posts.now(key, going.thread.channel, notice, thread=going.thread)
        if going.event_id is not None:
            self._store.inbox.mark_done.now(going.event_id)

    async def keep_as_note(self, going: Going) -> bool:
        ended = await self.end(going, MessageState.NOTE)
        reply = going.reply
        await self._slack.show_state(going.thread.channel, reply.ts, ReplyState.NOTE, None)
        return ended

    async def failed(self, going: Going, text: str, reason: str, error: str) -> bool:
        """One unit: the reply failed (`error`), the thread says why with a Try again, and its
        event is done."""
        reply, thread = going.reply, going.thread
        key = post_keys.send_warning(reply.ts, reply.retry.key if reply.retry else None)
        warning = self._chat_thread.warning(thread, "Your message", text, reason, reply.ts)
        going.notices.append((key, warning))
        ended = await self.end(going, MessageState.FAILED, error=error)
        await self._slack.show_state(
            thread.channel, reply.ts, ReplyState.FAILED, ReplyState.PENDING
        )
        return ended
