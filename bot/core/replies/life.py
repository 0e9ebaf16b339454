"""A reply's life, in one screen: the states a reply written in Slack goes through, and every
change between them, named. The rest of `replies/` decides which change to make; the change
itself is made here (or, inside a larger unit of work, with the `.now` form of the same call).

    written ──> pending ──> sending ──> sent ──> deleted
                  │            │  in doubt: Chatra's echo settles it, else sent again once
                  │            └──> failed ──(Try again: RetryReason.CLICKED)──> pending
                  ├──> note      an internal note, or its author said "keep as a note"
                  ├──> skipped   nothing to send, or not the team's
                  ├──> asking ──(Send to visitor: CONFIRMED)──> pending;  (Keep: note)
                  └──> held   ──(a probe: PROBE; Chatra back: RESUMED)──> pending

`sending` and `sent` are storage's own named writes (`Messages.start_sending`, `resend`,
`mark_sent`, `claim_echo`), made inside the units of work of `to_visitor.py`, where the
sending mark must commit before Chatra is called. A retry's reason (`Retry`) is stored with
the new try, in the inbox, beside the reply it carries: a restart or another bridge reads the
same."""

from bot.core.errors import MembraneError
from bot.core.wire.slack import Retry, RetryReason
from storage import Message, Messages
from storage.states import MessageState

NOT_IN_CHATRA = (MessageState.DELETED, MessageState.SKIPPED, MessageState.NOTE)


def probes(state: str, retry: Retry | None) -> bool:
    """Whether this try is a held reply sent to see whether Chatra is back."""
    return state == MessageState.HELD and retry is not None and retry.reason == RetryReason.PROBE


def takes_this_try(state: str, retry: Retry | None) -> bool:
    """Whether a reply in `state` is carried out by this try: a new or unfinished one, or a
    held one probed. Anything else was carried out before (its event run twice)."""
    return state in (MessageState.PENDING, MessageState.SENDING) or probes(state, retry)


def may_try_again(record: Message | None) -> bool:
    """Try again is for a failed reply written in Slack, and only once it failed."""
    return record is not None and record.origin == "slack" and record.state == MessageState.FAILED


def failed_before(retry: Retry | None) -> bool:
    """A try after a failure (Try again, a probe, Chatra back) rather than a first send."""
    return retry is not None and retry.reason != RetryReason.CONFIRMED


class ReplyLife:
    def __init__(self, messages: Messages) -> None:
        self._messages = messages

    async def held(self, record_id: int, text: str, error: MembraneError) -> None:
        """Chatra is disconnected in Membrane: kept, as it is to be sent, until it is back."""
        await self._messages.update(
            record_id, state=MessageState.HELD, sent_text=text, error=str(error)
        )

    async def to_try_again(self, record_id: int, *, still_held: bool = False) -> None:
        """A new try is stored for it: pending, or still held while it probes Chatra."""
        state = MessageState.HELD if still_held else MessageState.PENDING
        await self._messages.update(record_id, state=state)

    async def cleared_to_send_again(self, record_id: int) -> None:
        """A person decided it may go again: the one resend in doubt allows is given back."""
        await self._messages.update(record_id, resends=0)

    async def not_sent(self, record_id: int) -> None:
        """Chatra surely did not take it: pending again, for the worker to wait out."""
        await self._messages.update(record_id, state=MessageState.PENDING)

    async def kept_as_note(self, record_id: int) -> None:
        await self._messages.update(record_id, state=MessageState.NOTE)

    async def sent_as_edited(self, record_id: int, chatra_id: str, text: str) -> None:
        """A piece an edit added (the text grew past Chatra's limit), sent."""
        await self._messages.update(
            record_id, chatra_id=chatra_id, sent_text=text, state=MessageState.SENT
        )

    async def deleted(self, record_id: int) -> None:
        await self._messages.update(record_id, state=MessageState.DELETED)

    def ended_now(self, record_id: int, state: MessageState, **values: object) -> None:
        """Inside a reply's last unit of work: it ends `state` (a note, skipped, asking, held,
        failed), with what goes with it (its text, error)."""
        self._messages.update.now(record_id, state=state, **values)
