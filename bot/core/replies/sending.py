"""Slack -> Chatra: a person's reply in a chat's thread reaches the visitor; edits and deletes
follow. Exactly once as far as the visitor can tell, its state shown on the reply. What becomes
of a reply is decided here (a note, refused, a saved reply, asking about a mention, held); its
sending is `to_visitor`'s."""

from dataclasses import dataclass

from bot.core.context import Context
from bot.core.engine.lanes import Lease
from bot.core.people.access import Access
from bot.core.ports import FilePort, ReplyState
from bot.core.posting import post_keys
from bot.core.replies.going import Going
from bot.core.replies.life import probes, takes_this_try
from bot.core.replies.parts import ReplyParts
from bot.core.replies.reply_text import plain_text, with_file_links
from bot.core.replies.saved import wanted
from bot.core.slack_ui.notices import (
    not_allowed_notice,
    saved_reply_shown,
    unknown_saved_reply,
)
from bot.core.wire.slack import SlackReply
from storage import Message, Thread
from storage.states import MessageState


@dataclass(frozen=True)
class _Received:
    """A reply as the database knows it, read in one unit of work."""

    thread: Thread | None
    record: Message | None  # None: new
    internal: bool = False  # in a thread the team keeps to itself
    held_before: bool = False  # a reply of this chat before it is held
    any_held: bool = False  # replies are held (Chatra is disconnected)


class SlackToChatra:
    def __init__(
        self,
        context: Context,
        files: FilePort,
        access: Access,
        parts: ReplyParts,
    ) -> None:
        self._access, self._slack, self._files = access, context.slack, files
        self._db, self._messages = context.store.db, context.store.messages
        self._chat_thread, self._held, self._endings = parts.chat_thread, parts.held, parts.endings
        self._mentions, self._saved, self.parts = parts.mentions, parts.saved, parts
        self._note_prefixes = tuple(p.lower() for p in context.policy.note_prefixes if p)

    def tells_reboots(self, can: bool) -> None:
        """See `ToVisitor.tells_reboots`."""
        self.parts.to_visitor.tells_reboots(can)

    async def reply_written(
        self,
        reply: SlackReply,
        lease: Lease | None = None,
        *,
        event_id: int | None = None,
        in_doubt: bool = False,
        taken_over: bool = False,
    ) -> bool:
        """Send a reply to the visitor (its first answer claims the chat); whether its event
        (`event_id`) was recorded done with what it did. `in_doubt`: the machine rebooted since
        this reply was handled before, and its sending mark may be lost with what the disk had
        not kept: it is settled by Chatra's echo before anything is sent."""
        got = await self._db.run("SlackToChatra.receive", lambda: self._receive(reply))
        thread, record = got.thread, got.record
        if thread is None:
            if got.internal:
                await self._slack.show_state(reply.channel, reply.ts, ReplyState.NOTE, None)
            return False
        state = record.state if record is not None else MessageState.PENDING
        if not takes_this_try(state, reply.retry):
            return False  # carried out before
        going = Going(reply, thread, lease, event_id, taken_over=taken_over)
        if reply.retry is None and self._is_note(reply.text):
            return await self._endings.keep_as_note(going)
        refusal = await self._access.refusal(reply.user)
        if refusal is not None:  # not the team's: never reaches the visitor
            key = post_keys.not_allowed(thread.thread_ts or "", reply.user)
            going.notices.append((key, not_allowed_notice(reply.user, refusal)))
            return await self._endings.end(going, MessageState.SKIPPED, error=refusal)
        written, asked = reply.text, wanted(reply.text)
        if asked is not None:  # what is checked below is what the visitor would get
            expanded = await self._saved.expand(asked, thread, reply.user)
            if expanded is None:  # no saved reply of that name: nothing goes, the author is told
                notice = unknown_saved_reply(asked.name)
                await self._slack.tell(thread.channel, reply.user, notice, thread.thread_ts)
                return await self._endings.end(going, MessageState.SKIPPED)
            written = expanded
            if reply.retry is None and self._is_note(written):
                return await self._endings.keep_as_note(going)
        if self._mentions.wants_asking(reply, written):  # for a teammate? its author decides
            await self._mentions.ask(thread, reply, written)
            return await self._endings.end(going, MessageState.ASKING)
        if reply.files:  # the links are kept with the reply: a retry sends them too
            written, failed = await with_file_links(self._files, written, reply.files)
            if failed:
                reason = " ".join(sorted(set(failed.values())))
                reason += " Share a public link in your reply instead."
                key = post_keys.files_warning(reply.ts)
                await self._chat_thread.warn(thread, key, "Files", ", ".join(failed), reason)
        text = await plain_text(self._slack, written)
        if not text.strip():
            return await self._endings.end(going, MessageState.SKIPPED, text=written)
        if got.held_before or (reply.retry is None and got.any_held):
            # Chatra is disconnected: wait behind the replies held before this one
            return await self._endings.end(going, MessageState.HELD, text=written, sent_text=text)
        if asked is not None:  # the thread shows what the visitor got
            going.notices.append(
                (post_keys.saved_sent(reply.ts), saved_reply_shown(asked.name, text))
            )
        return await self.parts.to_visitor.send(
            going, written, text, was_held=probes(state, reply.retry), in_doubt=in_doubt
        )

    def _receive(self, reply: SlackReply) -> _Received:
        """On the database's thread: the reply's chat and its record (None: new), and whether
        replies wait for Chatra to be back."""
        owner = self._chat_thread.of_now(reply)
        thread = owner.chat
        if thread is None:
            return _Received(None, None, internal=owner.internal)
        record = self._messages.by_slack_ts.now(reply.ts)
        held_before, any_held = self._messages.holding.now(
            thread.client_id, record.id if record else 2**62
        )
        return _Received(thread, record, held_before=held_before, any_held=any_held)

    def _is_note(self, mrkdwn: str) -> bool:
        """An internal note: stays in Slack, never reaches the visitor."""
        return mrkdwn.lstrip().lower().startswith(self._note_prefixes)
