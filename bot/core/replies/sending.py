"""Slack -> Chatra: a person's reply in a chat's thread reaches the visitor; edits and deletes
follow. Exactly once as far as the visitor can tell, its state shown on the reply.
"""

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from bot.core.context import Context
from bot.core.engine.patience import however_long
from bot.core.errors import MembraneError, NoWriter
from bot.core.people.access import Access
from bot.core.ports import ChatraPort, FilePort, ReplyState, Writer
from bot.core.posting import post_keys
from bot.core.replies.changes import ReplyChanges
from bot.core.replies.chat_thread import ChatThread
from bot.core.replies.held import PROBE, Enqueue, HeldReplies
from bot.core.replies.mentions import CONFIRMED, MentionCheck
from bot.core.replies.reply_text import plain_text, with_file_links
from bot.core.replies.saved import SavedTexts, wanted
from bot.core.replies.writers import Writers
from bot.core.slack_ui.notices import (
    maybe_twice_notice,
    not_allowed_notice,
    saved_reply_shown,
    unknown_saved_reply,
)
from bot.core.wire.slack import SlackReply
from bot.core.wire.text import CHATRA_TEXT_LIMIT, split_text
from storage import Message, Thread
from storage.states import MessageState
from storage.units import Kind

log = logging.getLogger(__name__)
PENDING_AFTER = 1.0  # seconds a send may take before its reply shows it as pending


@dataclass
class _Sending:
    """What the last piece's unit of work found: replies are held (Chatra was away)."""

    held: bool = False


@dataclass(frozen=True)
class _Received:
    """A reply as the database knows it, read and recorded in one unit of work."""

    thread: Thread | None
    record: Message | None
    internal: bool = False  # in a thread the team keeps to itself
    held_before: bool = False  # a reply of this chat before it is held
    any_held: bool = False  # replies are held (Chatra is disconnected)


class SlackToChatra:
    def __init__(
        self,
        context: Context,
        chatra: ChatraPort,
        files: FilePort,
        enqueue: Enqueue,
        access: Access,
    ) -> None:
        self._access, self._audit = access, context.audit
        self._slack, self._posts = context.slack, context.posts
        self._chatra, self._files = chatra, files
        store = context.store
        self._db, self._messages = store.db, store.messages
        self._waits, self._figures = store.waits, store.figures
        self._policy = policy = context.policy
        self._writers = Writers(context)
        self._chat_thread = ChatThread(context)
        self.held = HeldReplies(context, enqueue)  # while Chatra is away, and tries again
        self.mentions = MentionCheck(context, self.held)  # asks before a reply naming teammates
        self.saved = SavedTexts(context)  # `;name` sends a saved reply
        self.changes = ReplyChanges(
            context, chatra, files, self._chat_thread, self.saved, self.mentions
        )
        self._begin: Kind = "durable"  # a reply's sending mark waits for the disk
        self._note_prefixes = tuple(p.lower() for p in policy.note_prefixes if p)

    def tells_reboots(self, can: bool) -> None:
        """Whether the bridge tells a reboot of the machine from a crash of its own: then a
        reply's sending mark need not wait for the disk (a crash keeps it; after a reboot, the
        reply is settled by Chatra's echo): one fsync a reply, its intake's."""
        self._begin = "write" if can else "durable"

    async def reply_written(self, reply: SlackReply, *, in_doubt: bool = False) -> Thread | None:
        """Send a reply to the visitor; the chat's thread when it was sent now (its first
        answer claims the chat). `in_doubt`: the machine rebooted since this reply was handled
        before, and its sending mark may be lost with what the disk had not kept: it is settled
        by Chatra's echo before anything is sent."""
        got = await self._db.run("SlackToChatra.receive", lambda: self._receive(reply), "write")
        thread, record = got.thread, got.record
        if thread is None or record is None:
            if got.internal:
                await self._slack.show_state(reply.channel, reply.ts, ReplyState.NOTE, None)
            return None
        probing = record.state == MessageState.HELD and (reply.retry_of or "").startswith(PROBE)
        if record.state not in (MessageState.PENDING, MessageState.SENDING) and not probing:
            return thread if record.state == MessageState.SENT else None  # carried out before
        if reply.retry_of is None and self._is_note(reply.text):
            await self._keep_as_note(thread, record, reply)
            return None
        refusal = await self._access.refusal(reply.user)
        if refusal is not None:  # not the team's: never reaches the visitor
            await self._messages.update(record.id, state=MessageState.SKIPPED, error=refusal)
            key = post_keys.not_allowed(thread.thread_ts, reply.user)
            notice = not_allowed_notice(reply.user, refusal)
            await self._posts.post(key, thread.channel, notice, thread=thread)
            return None
        written, asked = reply.text, wanted(reply.text)
        if asked is not None:  # what is checked below is what the visitor would get
            expanded = await self.saved.expand(asked, thread, reply.user)
            if expanded is None:  # no saved reply of that name: nothing goes, the author is told
                await self._messages.update(record.id, state=MessageState.SKIPPED)
                notice = unknown_saved_reply(asked.name)
                await self._slack.tell(thread.channel, reply.user, notice, thread.thread_ts)
                return None
            written = expanded
            if reply.retry_of is None and self._is_note(written):
                await self._keep_as_note(thread, record, reply)
                return None
        if self.mentions.wants_asking(reply, written):  # for a teammate? its author decides
            await self.mentions.ask(thread, record, reply, written)
            return None
        if reply.files:  # the links are kept with the reply: a retry sends them too
            written, failed = await with_file_links(self._files, written, reply.files)
            await self._messages.update(record.id, text=written)
            if failed:
                reason = " ".join(sorted(set(failed.values())))
                reason += " Share a public link in your reply instead."
                key = post_keys.files_warning(reply.ts)
                await self._chat_thread.warn(thread, key, "Files", ", ".join(failed), reason)
        text = await plain_text(self._slack, written)
        if not text.strip():
            await self._messages.update(record.id, state=MessageState.SKIPPED)
            return None
        if got.held_before or (reply.retry_of is None and got.any_held):
            # Chatra is disconnected: wait behind the replies held before this one
            await self._messages.update(record.id, state=MessageState.HELD, sent_text=text)
            return None
        sent = await self._send_to_visitor(
            thread, record, reply, text, was_held=probing, in_doubt=in_doubt
        )
        if sent and asked is not None:  # the thread shows what the visitor got
            shown, key = saved_reply_shown(asked.name, text), post_keys.saved_sent(reply.ts)
            await self._posts.post(key, thread.channel, shown, thread=thread)
        return thread if sent else None

    async def _keep_as_note(self, thread: Thread, record: Message, reply: SlackReply) -> None:
        await self._messages.update(record.id, state=MessageState.NOTE)
        await self._slack.show_state(thread.channel, reply.ts, ReplyState.NOTE, None)

    def _receive(self, reply: SlackReply) -> "_Received":
        """On the database's thread: the reply's chat and its record, and whether replies wait
        for Chatra to be back."""
        owner = self._chat_thread.of_now(reply)
        thread = owner.chat
        if thread is None:
            return _Received(None, None, internal=owner.internal)
        record = self._messages.claim_slack_reply.now(
            reply.ts, thread.client_id, reply.text, reply.user
        )
        held_before, any_held = self._messages.holding.now(thread.client_id, record.id)
        return _Received(thread, record, held_before=held_before, any_held=any_held)

    async def _send_to_visitor(
        self,
        thread: Thread,
        record: Message,
        reply: SlackReply,
        text: str,
        *,
        was_held: bool,
        in_doubt: bool = False,
    ) -> bool:
        """send-agent-message, exactly once as far as the visitor can tell, its state shown on
        the reply as a reaction (pending, delivered, failed); True once sent. A text over
        Chatra's limit goes as several messages, each recorded on its own (`<ts>#<n>`), so a
        rerun sends only the rest."""
        channel, ts = thread.channel, reply.ts
        confirmed = (reply.retry_of or "").startswith(CONFIRMED)  # it failed before, or not
        earlier = ReplyState.FAILED if reply.retry_of and not confirmed else None
        shown = asyncio.Event()  # set once the pending reaction is on its way
        pending = asyncio.create_task(self._pending_later(channel, ts, earlier, shown))
        try:
            email, who = await self._writers.of_slack(reply.user)
            pieces = split_text(text, CHATRA_TEXT_LIMIT)
            writer: Writer | None = None
            as_whom = None
            sending = _Sending()
            for n, piece in enumerate(pieces):

                def begin(n: int = n, piece: str = piece) -> tuple[Message | None, Any]:
                    """Who writes (the first piece), and the piece marked as being sent."""
                    found = self._writers.resolve(reply.user, email, who) if n == 0 else None
                    claimed = (
                        record
                        if n == 0
                        else self._messages.claim_slack_reply.now(
                            f"{ts}#{n}", thread.client_id, piece, reply.user
                        )
                    )
                    current = self._messages.by_id.now(claimed.id)
                    unsent = current is not None and current.chatra_id is None
                    if unsent and current.state != MessageState.SENDING:  # else: in doubt
                        self._messages.start_sending.now(current.id, piece)
                        if in_doubt:  # settled by the echo first, as any send in doubt
                            current = dataclasses.replace(current, state=MessageState.SENDING)
                    return current, found

                try:
                    current, found = await self._db.run("SlackToChatra.begin", begin, self._begin)
                except NoWriter as nobody:
                    await self._not_sent(thread, record.id, reply, text, nobody, was_held)
                    return False
                if found is not None:
                    writer, as_whom = found
                assert writer is not None
                last = sending if n == len(pieces) - 1 else None
                if not await self._send_piece(
                    thread, current, reply, piece, writer, was_held, record.id, last
                ):
                    return False
        finally:
            if shown.is_set():
                await pending  # the next state replaces it
            else:
                pending.cancel()
        self._audit.record(reply.user, "reply_sent", thread.client_id, reply.ts)
        previous = ReplyState.PENDING if shown.is_set() else earlier
        await self._slack.show_state(channel, ts, ReplyState.DELIVERED, previous)
        if as_whom:  # after the send: a post may wait for the channel's pace
            await self._writers.tell(thread, reply.user, as_whom)
        if sending.held:
            await self.held.resume()
        return True

    async def _pending_later(
        self, channel: str, ts: str, earlier: ReplyState | None, shown: asyncio.Event
    ) -> None:
        """Show the reply as pending once its send has taken a while: a quick send goes from
        nothing to delivered, one reaction call instead of three (reactions.add and .remove
        have a budget of about 50 a minute for the whole workspace)."""
        await asyncio.sleep(PENDING_AFTER)
        shown.set()
        await self._slack.show_state(channel, ts, ReplyState.PENDING, earlier)

    async def _send_piece(
        self,
        thread: Thread,
        record: Message | None,
        reply: SlackReply,
        text: str,
        writer: Writer,
        was_held: bool,
        reply_id: int,
        last: "_Sending | None",
    ) -> bool:
        """One message to the visitor, marked as being sent already; False when it was held or
        refused (and said so). The `last` piece marks the reply (its record: `reply_id`) sent and
        its visitor answered, in the same unit of work as its Chatra id.

        Chatra takes no idempotency key. A try that may have run (a timeout, a dropped connection,
        a 5xx) stays `sending` and, like any failure that will pass, goes back to the worker to
        be waited out. The next run first waits for Chatra's echo; without one it sends again,
        at most once ever, and the thread says the visitor may see it twice.
        """
        if record is None or record.chatra_id is not None:
            await self._all_sent(thread, reply_id, last)
            return True  # sent before a restart
        if record.state == MessageState.SENDING:  # an earlier try ended in doubt: did it arrive?
            arrived = await self._echo_adopted(record.id)
            log.info(
                "reply %s was in doubt; Chatra's echo %s",
                reply.ts,
                "shows it arrived" if arrived else "did not come",
            )
            if arrived:
                await self._all_sent(thread, reply_id, last)
                return True
            if record.resends:  # sent again once already: never a third time
                await self._unconfirmed(thread, record.id, reply, text)
                return False
            await self._messages.resend(record.id)
            await self._messages.start_sending(record.id, text)
        try:
            chatra_id = await self._chatra.send_agent_message(thread.client_id, text, writer)
        except MembraneError as error:
            if not error.in_doubt:  # surely not sent
                await self._messages.update(record.id, state=MessageState.PENDING)
            if error.in_doubt or error.transient:
                raise  # waited out by the worker, in order with the chat's other replies
            await self._not_sent(thread, reply_id, reply, text, error, was_held)
            return False

        def sent() -> None:
            self._messages.update.now(record.id, chatra_id=chatra_id)
            if last is not None:
                self._sent(thread, reply_id, last)

        # Recorded however long the database refuses: the worker's next try would find the reply
        # in doubt and, with no echo, send it again.
        what = f"reply {reply.ts}, which Chatra took"
        await however_long(lambda: self._db.run("SlackToChatra.sent", sent, "write"), what)
        context = {"chat": thread.client_id, "slack_ts": reply.ts}
        log.info(
            "reply %s sent to chat %s as %s", reply.ts, thread.client_id, chatra_id, extra=context
        )
        if record.resends or record.state == MessageState.SENDING:
            notice = maybe_twice_notice(text)
            key = post_keys.maybe_twice(reply.ts, record.id)
            await self._posts.post(key, thread.channel, notice, thread=thread)
        return True

    async def _all_sent(self, thread: Thread, reply_id: int, last: "_Sending | None") -> None:
        if last is not None:
            await self._db.run("SlackToChatra.sent", lambda: self._sent(thread, reply_id, last))

    def _sent(self, thread: Thread, reply_id: int, sending: "_Sending") -> None:
        """On the database's thread: the whole reply reached the visitor, who has an answer;
        whether replies are held (Chatra was away: this send says it is back)."""
        first_time, author = self._messages.mark_sent.now(reply_id)
        if first_time:  # counted once
            self._figures.agent_wrote.now(thread.id, author)
        self._waits.answered.now(thread.id)
        sending.held = self._messages.any_held.now()

    async def _unconfirmed(
        self, thread: Thread, record_id: int, reply: SlackReply, text: str
    ) -> None:
        """Sent twice, both in doubt, no echo: a person decides whether to try again."""
        reason = (
            "Chatra confirmed neither the first try nor the one after it: the visitor may have"
            " it twice, or not at all. Check the chat in Chatra before trying again."
        )
        key = post_keys.send_warning(reply.ts, reply.retry_of)
        await self._chat_thread.warn(thread, key, "Your message", text, reason, retry_ts=reply.ts)
        await self._messages.update(record_id, state=MessageState.FAILED, error="unconfirmed")
        await self._slack.show_state(
            thread.channel, reply.ts, ReplyState.FAILED, ReplyState.PENDING
        )

    async def _not_sent(
        self,
        thread: Thread,
        record_id: int,
        reply: SlackReply,
        text: str,
        error: MembraneError | NoWriter,
        was_held: bool,
    ) -> None:
        """Hold the reply while Chatra is disconnected; otherwise mark it failed and say why."""
        if isinstance(error, MembraneError) and error.kind == "connection":
            await self.held.hold(record_id, text, error, first=not was_held)
            return
        key = post_keys.send_warning(reply.ts, reply.retry_of)
        await self._chat_thread.warn(
            thread, key, "Your message", text, str(error), retry_ts=reply.ts
        )
        await self._messages.update(record_id, state=MessageState.FAILED, error=str(error))
        await self._slack.show_state(
            thread.channel, reply.ts, ReplyState.FAILED, ReplyState.PENDING
        )

    async def _echo_adopted(self, record_id: int) -> bool:
        """Wait up to the grace period for Chatra's echo to mark the message as sent."""
        deadline = asyncio.get_running_loop().time() + self._policy.echo_grace
        while True:
            record = await self._messages.by_id(record_id)
            if record is not None and record.chatra_id is not None:
                return True
            if await self._messages.claim_echo(record_id):  # it came first, and was kept
                return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(min(0.1, self._policy.echo_grace))

    def _is_note(self, mrkdwn: str) -> bool:
        """An internal note: stays in Slack, never reaches the visitor."""
        return mrkdwn.lstrip().lower().startswith(self._note_prefixes)
