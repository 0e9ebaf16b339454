"""A reply's text to the visitor (send-agent-message), exactly once as far as the visitor can
tell: each piece marked as being sent before the call, recorded sent with its Chatra id after
it; a try in doubt settled by Chatra's echo; held while Chatra is disconnected."""

import asyncio
import dataclasses
import logging
from typing import Any

from bot.core.chats.chat import CardState
from bot.core.context import Context
from bot.core.engine.patience import however_long
from bot.core.errors import MembraneError, NoWriter
from bot.core.ports import ChatraPort, ReplyState, Writer
from bot.core.posting import post_keys
from bot.core.replies.going import Endings, Going
from bot.core.replies.held import HeldReplies
from bot.core.replies.life import ReplyLife, failed_before
from bot.core.replies.writers import Writers
from bot.core.slack_ui.notices import maybe_twice_notice
from bot.core.wire.text import CHATRA_TEXT_LIMIT, split_text
from storage import Message
from storage.database import Kind
from storage.states import MessageState

log = logging.getLogger(__name__)
PENDING_AFTER = 1.0  # seconds a send may take before its reply shows it as pending


class ToVisitor:
    def __init__(
        self,
        context: Context,
        chatra: ChatraPort,
        life: ReplyLife,
        writers: Writers,
        held: HeldReplies,
        endings: Endings,
    ) -> None:
        self._life = life
        self._slack, self._posts, self._audit = context.slack, context.posts, context.audit
        self._store = store = context.store
        self._db, self._messages = store.db, store.messages
        self._policy, self._chatra, self._writers = context.policy, chatra, writers
        self.held, self._endings = held, endings
        self._begin: Kind = "durable"  # a reply's sending mark waits for the disk

    def tells_reboots(self, can: bool) -> None:
        """Whether the bridge tells a reboot of the machine from a crash of its own: then a
        reply's sending mark need not wait for the disk (a crash keeps it; after a reboot, the
        reply is settled by Chatra's echo): one fsync a reply, its intake's."""
        self._begin = "write" if can else "durable"

    async def send(
        self, going: Going, written: str, text: str, *, was_held: bool, in_doubt: bool = False
    ) -> bool:
        """send-agent-message, exactly once as far as the visitor can tell, its state shown on
        the reply as a reaction (pending, delivered, failed); whether its event was recorded
        done. A text over Chatra's limit goes as several messages, each recorded on its own
        (`<ts>#<n>`), so a rerun sends only the rest."""
        reply, thread = going.reply, going.thread
        channel, ts = thread.channel, reply.ts
        earlier = ReplyState.FAILED if failed_before(reply.retry) else None
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
        going: Going,
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
                await self._life.not_sent(record.id)
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
        self, going: Going, piece_id: int, chatra_id: str | None, reply_id: int, last: bool
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
            self._endings.owe_notices(going)

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

    async def _unconfirmed(self, going: Going, text: str) -> bool:
        """Sent twice, both in doubt, no echo: a person decides whether to try again."""
        reason = (
            "Chatra confirmed neither the first try nor the one after it: the visitor may have"
            " it twice, or not at all. Check the chat in Chatra before trying again."
        )
        return await self._endings.failed(going, text, reason, "unconfirmed")

    async def _not_sent(
        self,
        going: Going,
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
        return await self._endings.failed(going, text, str(error), str(error))

    async def _echo_adopted(self, record_id: int, going: Going) -> bool:
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
