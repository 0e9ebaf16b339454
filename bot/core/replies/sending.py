"""Slack -> Chatra: a person's reply in a chat's thread reaches the visitor; edits and deletes
follow. Exactly once as far as the visitor can tell, its state shown on the reply.
"""

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.core.context import Context
from bot.core.engine.worker import lane
from bot.core.errors import MembraneError, ThreadNotKnownYet
from bot.core.people.access import Access
from bot.core.ports import ChatraPort, FilePort, Writer
from bot.core.posting import post_keys
from bot.core.replies.reply_text import plain_text, with_file_links
from bot.core.replies.writers import Writers
from bot.core.slack_ui.notices import (
    delivery_warning,
    maybe_twice_notice,
    not_allowed_notice,
    outage_notice,
    outage_over_notice,
    retrying_notice,
)
from bot.core.wire.slack import SlackChange, SlackDeletion, SlackEdit, SlackReply
from bot.core.wire.text import CHATRA_TEXT_LIMIT, split_text
from storage import Message, Thread
from storage.states import MessageState
from storage.units import Kind

log = logging.getLogger(__name__)
PENDING_AFTER = 1.0  # seconds a send may take before its reply shows it as pending
# A reply in one of these is not in Chatra: an edit of it changes nothing there.
NOT_IN_CHATRA = (MessageState.DELETED, MessageState.SKIPPED, MessageState.NOTE)

Enqueue = Callable[[str, str, str, str], Awaitable[bool]]  # (source, dedupe key, lane, payload)


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
        self._slack, self._delivery = context.slack, context.delivery
        self._chatra, self._files = chatra, files
        store = context.store
        self._db, self._threads, self._messages = store.db, store.threads, store.messages
        self._slack_posts = store.posts
        self._agents, self._waits = store.agents, store.waits
        self._enqueue = enqueue
        self._policy = policy = context.policy
        self._writers = Writers(context)
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
                await self._slack.show_state(reply.channel, reply.ts, "note", None)
            return None
        self._delivery.moved_on(thread.channel, thread.thread_ts)  # later posts go below it
        probing = record.state == MessageState.HELD and (reply.retry_of or "").startswith("probe:")
        if record.state not in (MessageState.PENDING, MessageState.SENDING) and not probing:
            return thread if record.state == MessageState.SENT else None  # carried out before
        if reply.retry_of is None and self._is_note(reply.text):
            await self._messages.update(record.id, state=MessageState.NOTE)
            await self._slack.show_state(thread.channel, reply.ts, "note", None)
            return None
        refusal = await self._access.refusal(reply.user)
        if refusal is not None:  # not the team's: never reaches the visitor
            await self._messages.update(record.id, state=MessageState.SKIPPED, error=refusal)
            key = post_keys.not_allowed(thread.thread_ts, reply.user)
            notice = not_allowed_notice(reply.user, refusal)
            await self._delivery.post(key, thread.channel, notice, thread.thread_ts)
            return None
        written = reply.text
        if reply.files:  # the links are kept with the reply: a retry sends them too
            written, failed = await with_file_links(self._files, reply)
            await self._messages.update(record.id, text=written)
            if failed:
                reason = " ".join(sorted(set(failed.values())))
                reason += " Share a public link in your reply instead."
                key = post_keys.files_warning(reply.ts)
                await self._warn(thread, key, "Files", ", ".join(failed), reason)
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
        return thread if sent else None

    def _receive(self, reply: SlackReply) -> "_Received":
        """On the database's thread: the reply's chat and its record, and whether replies wait
        for Chatra to be back."""
        thread = self._thread_now(reply)
        if thread is None:
            internal = post_keys.is_internal(
                self._slack_posts.key_at.now(reply.channel, reply.thread_ts)
            )
            return _Received(None, None, internal=internal)
        record = self._messages.claim_slack_reply.now(
            reply.ts, thread.client_id, reply.text, reply.user
        )
        held_before = self._messages.held_before.now(thread.client_id, record.id)
        any_held = held_before or bool(self._messages.held.now())
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
        earlier = "failed" if reply.retry_of else None
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
                except MembraneError as nobody:
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
        previous = "pending" if shown.is_set() else earlier
        await self._slack.show_state(channel, ts, "delivered", previous)
        if as_whom:  # after the send: a post may wait for the channel's pace
            await self._writers.tell(thread, reply.user, as_whom)
        if sending.held:
            await self._resume()
        return True

    async def _pending_later(
        self, channel: str, ts: str, earlier: str | None, shown: asyncio.Event
    ) -> None:
        """Show the reply as pending once its send has taken a while: a quick send goes from
        nothing to delivered, one reaction call instead of three (reactions.add and .remove
        have a budget of about 50 a minute for the whole workspace)."""
        await asyncio.sleep(PENDING_AFTER)
        shown.set()
        await self._slack.show_state(channel, ts, "pending", earlier)

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

        await self._db.run("SlackToChatra.sent", sent, "write")
        context = {"chat": thread.client_id, "slack_ts": reply.ts}
        log.info(
            "reply %s sent to chat %s as %s", reply.ts, thread.client_id, chatra_id, extra=context
        )
        if record.resends or record.state == MessageState.SENDING:
            notice = maybe_twice_notice(text)
            key = post_keys.maybe_twice(reply.ts, record.id)
            await self._delivery.post(key, thread.channel, notice, thread.thread_ts)
        return True

    async def _all_sent(self, thread: Thread, reply_id: int, last: "_Sending | None") -> None:
        if last is not None:
            await self._db.run("SlackToChatra.sent", lambda: self._sent(thread, reply_id, last))

    def _sent(self, thread: Thread, reply_id: int, sending: "_Sending") -> None:
        """On the database's thread: the whole reply reached the visitor, who has an answer;
        whether replies are held (Chatra was away: this send says it is back)."""
        self._messages.update.now(reply_id, state=MessageState.SENT)
        self._waits.answered.now(thread.id)
        sending.held = bool(self._messages.held.now())

    async def _unconfirmed(
        self, thread: Thread, record_id: int, reply: SlackReply, text: str
    ) -> None:
        """Sent twice, both in doubt, no echo: a person decides whether to try again."""
        reason = (
            "Chatra confirmed neither the first try nor the one after it: the visitor may have"
            " it twice, or not at all. Check the chat in Chatra before trying again."
        )
        key = post_keys.send_warning(reply.ts, reply.retry_of)
        await self._warn(thread, key, "Your message", text, reason, retry_ts=reply.ts)
        await self._messages.update(record_id, state=MessageState.FAILED, error="unconfirmed")
        await self._slack.show_state(thread.channel, reply.ts, "failed", "pending")

    async def _not_sent(
        self,
        thread: Thread,
        record_id: int,
        reply: SlackReply,
        text: str,
        error: MembraneError,
        was_held: bool,
    ) -> None:
        """Hold the reply while Chatra is disconnected; otherwise mark it failed and say why."""
        if error.kind == "connection":
            await self._hold(record_id, text, error, first=not was_held)
            return
        key = post_keys.send_warning(reply.ts, reply.retry_of)
        await self._warn(thread, key, "Your message", text, str(error), retry_ts=reply.ts)
        await self._messages.update(record_id, state=MessageState.FAILED, error=str(error))
        await self._slack.show_state(thread.channel, reply.ts, "failed", "pending")

    async def _hold(self, record_id: int, text: str, error: MembraneError, first: bool) -> None:
        """Chatra is disconnected in Membrane: keep the reply until it is back, and say so in the
        channel once per outage, not once per message."""
        if first:
            log.warning("Chatra disconnected: holding replies (%s)", error)
            notice = outage_notice(str(error))
            outage = await self._slack_posts.count(post_keys.RESUMED) + 1  # a new outage begins
            await self._delivery.post(post_keys.paused(outage), self._policy.channel, notice)
        await self._messages.update(
            record_id, state=MessageState.HELD, sent_text=text, error=str(error)
        )

    async def _resume(self) -> None:
        """A send went through: Chatra is back. Send every held reply, in order."""
        held = await self._messages.held()
        log.info("Chatra reachable again: sending %d held replies", len(held))
        outage = await self._slack_posts.count(post_keys.PAUSED)  # the outage that ends: said once
        notice = outage_over_notice()
        await self._delivery.post(post_keys.resumed(outage), self._policy.channel, notice)
        for reply in held:
            await self._requeue(reply, f"resume:{outage}", state=MessageState.PENDING)

    async def probe_held(self) -> bool:
        """While replies are held, try the oldest again; its success resumes the rest."""
        held = await self._messages.held()
        if held:
            await self._requeue(held[0], f"probe:{time.time():.6f}", state=MessageState.HELD)
        return bool(held)

    async def retry_reply(self, reply_ts: str, click_id: str) -> str | None:
        """A person asked to send a failed reply again: store the retry; returns its text, or
        None when there is nothing to retry (unknown, already sent, already being retried)."""
        record = await self._messages.by_slack_ts(reply_ts)
        if record is None or record.origin != "slack" or record.state != MessageState.FAILED:
            return None
        await self._messages.update(record.id, resends=0)  # a person decided: it may go again
        await self._requeue(record, click_id, state=MessageState.PENDING)
        return record.sent_text or record.text or ""

    async def _requeue(self, record: Message, retry_id: str, *, state: str) -> None:
        """Store a new try of a reply that did not reach Chatra."""
        thread = await self._threads.for_client(record.client_id)
        if thread is None or record.slack_ts is None:
            return
        await self._messages.update(record.id, state=state)
        retry = SlackReply(
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            ts=record.slack_ts,
            user=record.author or "",
            text=record.text or "",
            retry_of=retry_id,
        )
        payload = SlackChange(change=retry).model_dump_json()
        key = f"slack:retry:{record.slack_ts}:{retry_id}"
        await self._enqueue("slack", key, lane(thread.client_id, "slack"), payload)

    async def show_retrying(self, channel: str, warning_ts: str, quoted: str, user_id: str) -> None:
        name = await self._slack.user_name(user_id) or "someone"
        await self._slack.update(channel, warning_ts, retrying_notice(quoted, name))

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

    async def reply_edited(self, edit: SlackEdit) -> None:
        thread = await self._thread(edit)
        record = await self._messages.by_slack_ts(edit.ts)
        if thread is None or record is None or record.state in NOT_IN_CHATRA:
            return
        text = await plain_text(self._slack, edit.text)
        if record.state == MessageState.HELD:  # not sent yet: it will be sent as edited
            await self._messages.update(record.id, text=edit.text, sent_text=text)
            return
        key = post_keys.edit_warning(edit.ts, edit.text)
        if record.chatra_id is None:
            reason = "The original message never reached Chatra."
            await self._warn(thread, key, "Your edit", text, reason)
            return
        try:
            await self._edit_pieces(thread, edit, split_text(text, CHATRA_TEXT_LIMIT))
        except MembraneError as error:
            if error.transient:
                raise  # waited out by the worker: an edit is safe to repeat
            await self._warn(thread, key, "Your edit", text, str(error))
            return
        await self._messages.update(record.id, text=edit.text)

    async def _edit_pieces(self, thread: Thread, edit: SlackEdit, texts: list[str]) -> None:
        """Each message the reply became in Chatra takes its new text; a longer text sends more
        messages, a shorter one deletes those left over."""
        pieces = await self._messages.pieces(edit.ts)
        for n, text in enumerate(texts):
            piece = pieces[n] if n < len(pieces) else None
            if piece is not None and piece.chatra_id and piece.state != MessageState.DELETED:
                if piece.sent_text != text:
                    await self._chatra.edit_agent_message(piece.chatra_id, text)
                    await self._messages.update(piece.id, sent_text=text)
                continue
            piece = await self._messages.claim_slack_reply(
                f"{edit.ts}#{n}", thread.client_id, text, edit.user
            )
            writer, _ = await self._writers.of(edit.user)
            chatra_id = await self._chatra.send_agent_message(thread.client_id, text, writer)
            await self._messages.update(
                piece.id, chatra_id=chatra_id, sent_text=text, state=MessageState.SENT
            )
        for piece in pieces[len(texts) :]:
            await self._delete_piece(piece)

    async def reply_deleted(self, deletion: SlackDeletion) -> None:
        thread = await self._thread(deletion)
        record = await self._messages.by_slack_ts(deletion.ts)
        if thread is None or record is None or record.state == MessageState.DELETED:
            return
        await self._files.forget(record.text or "")  # the files it shared go with it
        if record.state == MessageState.HELD:  # not sent yet: now it never will be
            await self._messages.update(record.id, state=MessageState.DELETED)
            return
        try:
            for piece in await self._messages.pieces(deletion.ts):
                await self._delete_piece(piece)
        except MembraneError as error:
            if error.transient:
                raise  # waited out by the worker
            key = post_keys.delete_warning(deletion.ts)
            await self._warn(thread, key, "Deleting your message", record.text or "", str(error))

    async def _delete_piece(self, piece: Message) -> None:
        if piece.chatra_id is None or piece.state == MessageState.DELETED:
            return
        try:
            await self._chatra.delete_agent_message(piece.chatra_id)
        except MembraneError as error:
            if not (error.kind == "dependency_error" and error.status == 404):
                raise  # not "already gone" (a try that ended in doubt deleted it)
        await self._messages.update(piece.id, state=MessageState.DELETED)

    async def _thread(self, change: SlackReply | SlackEdit | SlackDeletion) -> Thread | None:
        return await self._db.run("SlackToChatra.thread", lambda: self._thread_now(change), "read")

    def _thread_now(self, change: SlackReply | SlackEdit | SlackDeletion) -> Thread | None:
        """On the database's thread: the chat's thread the change is in; ThreadNotKnownYet
        while the chat's card is posted but its thread not yet recorded (waited out: the change
        is never dropped)."""
        thread = self._threads.for_slack_thread.now(change.channel, change.thread_ts)
        if thread is None and post_keys.client_of_card(
            self._slack_posts.key_at.now(change.channel, change.thread_ts)
        ):
            raise ThreadNotKnownYet(f"thread {change.channel}/{change.thread_ts} not recorded yet")
        return thread

    def _is_note(self, mrkdwn: str) -> bool:
        """An internal note: stays in Slack, never reaches the visitor."""
        return mrkdwn.lstrip().lower().startswith(self._note_prefixes)

    async def _warn(
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
