"""Slack -> Chatra: a person's reply in a chat's thread reaches the visitor; edits and deletes
follow. Exactly once as far as the visitor can tell, its state shown on the reply.
"""

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from bot.core.context import Context
from bot.core.engine.patience import however_long
from bot.core.engine.worker import Lease
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
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.card import CardState
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
class _Going:
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
        chatra: ChatraPort,
        files: FilePort,
        enqueue: Enqueue,
        access: Access,
    ) -> None:
        self._access, self._audit = access, context.audit
        self._slack, self._posts = context.slack, context.posts
        self._chatra, self._files = chatra, files
        self._store = store = context.store
        self._db, self._messages = store.db, store.messages
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
        probing = state == MessageState.HELD and (reply.retry_of or "").startswith(PROBE)
        if state not in (MessageState.PENDING, MessageState.SENDING) and not probing:
            return False  # carried out before
        going = _Going(reply, thread, lease, event_id, taken_over=taken_over)
        if reply.retry_of is None and self._is_note(reply.text):
            return await self._keep_as_note(going)
        refusal = await self._access.refusal(reply.user)
        if refusal is not None:  # not the team's: never reaches the visitor
            key = post_keys.not_allowed(thread.thread_ts or "", reply.user)
            going.notices.append((key, not_allowed_notice(reply.user, refusal)))
            return await self._end(going, MessageState.SKIPPED, error=refusal)
        written, asked = reply.text, wanted(reply.text)
        if asked is not None:  # what is checked below is what the visitor would get
            expanded = await self.saved.expand(asked, thread, reply.user)
            if expanded is None:  # no saved reply of that name: nothing goes, the author is told
                notice = unknown_saved_reply(asked.name)
                await self._slack.tell(thread.channel, reply.user, notice, thread.thread_ts)
                return await self._end(going, MessageState.SKIPPED)
            written = expanded
            if reply.retry_of is None and self._is_note(written):
                return await self._keep_as_note(going)
        if self.mentions.wants_asking(reply, written):  # for a teammate? its author decides
            await self.mentions.ask(thread, reply, written)
            return await self._end(going, MessageState.ASKING)
        if reply.files:  # the links are kept with the reply: a retry sends them too
            written, failed = await with_file_links(self._files, written, reply.files)
            if failed:
                reason = " ".join(sorted(set(failed.values())))
                reason += " Share a public link in your reply instead."
                key = post_keys.files_warning(reply.ts)
                await self._chat_thread.warn(thread, key, "Files", ", ".join(failed), reason)
        text = await plain_text(self._slack, written)
        if not text.strip():
            return await self._end(going, MessageState.SKIPPED, text=written)
        if got.held_before or (reply.retry_of is None and got.any_held):
            # Chatra is disconnected: wait behind the replies held before this one
            return await self._end(going, MessageState.HELD, text=written, sent_text=text)
        if asked is not None:  # the thread shows what the visitor got
            going.notices.append(
                (post_keys.saved_sent(reply.ts), saved_reply_shown(asked.name, text))
            )
        return await self._send_to_visitor(
            going, written, text, was_held=probing, in_doubt=in_doubt
        )

    async def _keep_as_note(self, going: _Going) -> bool:
        ended = await self._end(going, MessageState.NOTE)
        reply = going.reply
        await self._slack.show_state(going.thread.channel, reply.ts, ReplyState.NOTE, None)
        return ended

    async def _end(self, going: _Going, state: MessageState, **values: object) -> bool:
        """One unit: the reply recorded in `state` (with `values`), its notices owed to Slack
        and its event done. True: the event is recorded done."""
        reply, thread = going.reply, going.thread
        messages = self._messages

        def end() -> None:
            going.fence()
            record = messages.claim_slack_reply.now(
                reply.ts, thread.client_id, reply.text, reply.user
            )
            messages.update.now(record.id, state=state, **values)
            self._owe_notices(going)

        await self._db.run("SlackToChatra.end", end, "write")
        self._posts.wake(thread.channel)
        return going.event_id is not None

    def _owe_notices(self, going: _Going) -> None:
        """On the database's thread, in a reply's last unit: what the thread is to show of it,
        and its event done."""
        for key, notice in going.notices:
            self._posts.now(key, going.thread.channel, notice, thread=going.thread)
        if going.event_id is not None:
            self._store.inbox.mark_done.now(going.event_id)

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

    async def _send_to_visitor(
        self, going: _Going, written: str, text: str, *, was_held: bool, in_doubt: bool = False
    ) -> bool:
        """send-agent-message, exactly once as far as the visitor can tell, its state shown on
        the reply as a reaction (pending, delivered, failed); whether its event was recorded
        done. A text over Chatra's limit goes as several messages, each recorded on its own
        (`<ts>#<n>`), so a rerun sends only the rest."""
        reply, thread = going.reply, going.thread
        channel, ts = thread.channel, reply.ts
        confirmed = (reply.retry_of or "").startswith(CONFIRMED)  # it failed before, or not
        earlier = ReplyState.FAILED if reply.retry_of and not confirmed else None
        shown = asyncio.Event()  # set once the pending reaction is on its way
        pending = asyncio.create_task(self._pending_later(channel, ts, earlier, shown))
        messages = self._messages
        try:
            email, who = await self._writers.of_slack(reply.user)
            pieces = split_text(text, CHATRA_TEXT_LIMIT)
            writer: Writer | None = None
            reply_id = 0
            for n, piece in enumerate(pieces):

                def begin(n: int = n, piece: str = piece) -> tuple[Message, Any]:
                    """The reply recorded (the first piece), who writes, and the piece marked
                    as being sent."""
                    going.fence()
                    found = self._writers.resolve(reply.user, email, who) if n == 0 else None
                    key, saved = (ts, written) if n == 0 else (f"{ts}#{n}", piece)
                    claimed = messages.claim_slack_reply.now(
                        key, thread.client_id, saved, reply.user
                    )
                    if n == 0 and claimed.text != written:
                        messages.update.now(claimed.id, text=written)
                    current = messages.by_id.now(claimed.id)
                    assert current is not None
                    if current.chatra_id is None and current.state != MessageState.SENDING:
                        messages.start_sending.now(current.id, piece)
                        if in_doubt:  # settled by the echo first, as any send in doubt
                            current = dataclasses.replace(current, state=MessageState.SENDING)
                    return current, found

                try:
                    current, found = await self._db.run("SlackToChatra.begin", begin, self._begin)
                except NoWriter as nobody:
                    await self._not_sent(going, text, nobody, was_held)
                    return False
                if n == 0:
                    reply_id = current.id
                if found is not None:
                    writer, as_whom = found
                    if as_whom:  # once per person and thread: whom the visitor sees
                        going.notices.append(self._writers.notice(thread, reply.user, who, as_whom))
                assert writer is not None
                last = n == len(pieces) - 1
                if not await self._send_piece(
                    going, current, piece, writer, was_held, reply_id, last
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
        if going.held:
            await self.held.resume()
        return going.event_id is not None

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
        going: _Going,
        record: Message,
        text: str,
        writer: Writer,
        was_held: bool,
        reply_id: int,
        last: bool,
    ) -> bool:
        """One message to the visitor, marked as being sent already; False when it was held or
        refused (and said so). The `last` piece marks the reply (its record: `reply_id`) sent,
        its visitor answered and its event done, in the same unit of work as its Chatra id.

        Chatra takes no idempotency key. A try that may have run (a timeout, a dropped connection,
        a 5xx) stays `sending` and, like any failure that will pass, goes back to the worker to
        be waited out. The next run first waits for Chatra's echo; without one it sends again,
        at most once ever, and the thread says the visitor may see it twice.
        """
        reply, thread = going.reply, going.thread
        if record.chatra_id is not None:
            await self._sent(going, record.id, None, reply_id, last)
            return True  # sent before a restart
        if record.state == MessageState.SENDING:  # an earlier try ended in doubt: did it arrive?
            arrived = await self._echo_adopted(record.id, going)
            log.info(
                "reply %s was in doubt; Chatra's echo %s",
                reply.ts,
                "shows it arrived" if arrived else "did not come",
            )
            if arrived:
                await self._sent(going, record.id, None, reply_id, last)
                return True
            if record.resends:  # sent again once already: never a third time
                await self._unconfirmed(going, text)
                return False
            await self._db.run("SlackToChatra.check", going.check)  # after the wait: still ours?
            await self._messages.resend(record.id)
            await self._messages.start_sending(record.id, text)
            key = post_keys.maybe_twice(reply.ts, record.id)
            going.notices.append((key, maybe_twice_notice(text)))
        # else its begin unit, just before, checked and renewed the lane's lease
        try:
            chatra_id = await self._chatra.send_agent_message(thread.client_id, text, writer)
        except MembraneError as error:
            if not error.in_doubt:  # surely not sent
                await self._messages.update(record.id, state=MessageState.PENDING)
            if error.in_doubt or error.transient:
                raise  # waited out by the worker, in order with the chat's other replies
            await self._not_sent(going, text, error, was_held, reply_id)
            return False
        context = {"chat": thread.client_id, "slack_ts": reply.ts}
        log.info(
            "reply %s sent to chat %s as %s", reply.ts, thread.client_id, chatra_id, extra=context
        )
        await self._sent(going, record.id, chatra_id, reply_id, last)
        return True

    async def _sent(
        self, going: _Going, piece_id: int, chatra_id: str | None, reply_id: int, last: bool
    ) -> None:
        """One unit: the piece's Chatra id; with the `last` piece, the whole reply reached the
        visitor, who has an answer (the chat's first claims it), the thread's notices are owed
        and the event is done. Recorded however long the database refuses: the worker's next
        try would find the reply in doubt and, with no echo, send it again."""
        store, thread = self._store, going.thread

        def sent() -> None:
            if chatra_id is not None:
                store.messages.update.now(piece_id, chatra_id=chatra_id)
            if not last:
                return
            first_time, author = store.messages.mark_sent.now(reply_id)
            if first_time:  # counted once
                store.figures.agent_wrote.now(thread.id, author)
            store.waits.answered.now(thread.id)
            going.held = store.messages.any_held.now()
            self._claim(thread.id, going.reply.user)
            self._owe_notices(going)

        what = f"reply {going.reply.ts}, which Chatra took"
        await however_long(lambda: self._db.run("SlackToChatra.sent", sent, "write"), what)
        if last:
            self._posts.wake(thread.channel)

    def _claim(self, thread_id: int, user: str) -> None:
        """On the database's thread: the chat's first answer makes it its author's (shown on its
        card, which is drawn again)."""
        thread = self._store.threads.by_id.now(thread_id, to_change=True)
        card = CardState.of(thread.card) if thread is not None else None
        if card is not None and not card.owner and user:
            owned = card.model_copy(update={"owner": user}).model_dump_json()
            self._store.threads.change.now(thread_id, card=owned)

    async def _unconfirmed(self, going: _Going, text: str) -> bool:
        """Sent twice, both in doubt, no echo: a person decides whether to try again."""
        reason = (
            "Chatra confirmed neither the first try nor the one after it: the visitor may have"
            " it twice, or not at all. Check the chat in Chatra before trying again."
        )
        return await self._failed(going, text, reason, "unconfirmed")

    async def _not_sent(
        self,
        going: _Going,
        text: str,
        error: MembraneError | NoWriter,
        was_held: bool,
        reply_id: int | None = None,
    ) -> bool:
        """Hold the reply while Chatra is disconnected; otherwise mark it failed and say why.
        Whether its event was recorded done."""
        if reply_id is not None and isinstance(error, MembraneError) and error.kind == "connection":
            await self.held.hold(reply_id, text, error, first=not was_held)
            return False
        return await self._failed(going, text, str(error), str(error))

    async def _failed(self, going: _Going, text: str, reason: str, error: str) -> bool:
        """One unit: the reply failed (`error`), the thread says why with a Try again, and its
        event is done."""
        reply, thread = going.reply, going.thread
        key = post_keys.send_warning(reply.ts, reply.retry_of)
        warning = self._chat_thread.warning(thread, "Your message", text, reason, reply.ts)
        going.notices.append((key, warning))
        ended = await self._end(going, MessageState.FAILED, error=error)
        await self._slack.show_state(
            thread.channel, reply.ts, ReplyState.FAILED, ReplyState.PENDING
        )
        return ended

    async def _echo_adopted(self, record_id: int, going: _Going) -> bool:
        """Wait up to the grace period for Chatra's echo to mark the message as sent; at least
        a lease's length when the bridge before may be recording that it sent it (its lane was
        taken over during an outage of the database, say)."""
        grace = self._policy.echo_grace
        if going.taken_over and going.lease is not None:
            grace = max(grace, going.lease.ttl)
        deadline = asyncio.get_running_loop().time() + grace
        while True:
            record = await self._messages.by_id(record_id)
            if record is not None and record.chatra_id is not None:
                return True
            if await self._messages.claim_echo(record_id):  # it came first, and was kept
                return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(min(0.1, grace))

    def _is_note(self, mrkdwn: str) -> bool:
        """An internal note: stays in Slack, never reaches the visitor."""
        return mrkdwn.lstrip().lower().startswith(self._note_prefixes)
