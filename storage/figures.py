"""How each chat went, kept as it happens: when the visitor first wrote and was first answered,
the longest wait, messages each way, when it ended. What `/chatra stats`, the digest, the chart
and `chatra-bridge report` are made of."""

from dataclasses import dataclass

from storage.threads import Thread
from storage.units import Repository, reads, writes

# Where the chat is (its channel and card) is read from its thread: the card may be posted after.
COLUMNS = (
    "f.thread_id, f.client_id, t.channel, coalesce(t.thread_ts, ''), f.queue, f.opened_at,"
    " f.started_at, f.first_response_at, f.first_responder, f.longest_wait, f.longest_wait_from,"
    " f.visitor_messages, f.agent_messages, f.ended_at, f.ended_how, f.rating,"
    " coalesce(f.rating_low, 0)"
)
FROM = "chat_figures f JOIN threads t ON t.id = f.thread_id"


@dataclass(frozen=True)
class ChatFigures:
    thread_id: int
    client_id: str
    channel: str
    thread_ts: str  # empty while its card waits to be posted
    queue: str | None
    opened_at: float
    started_at: float | None
    first_response_at: float | None
    first_responder: str | None
    longest_wait: float | None
    longest_wait_from: float | None
    visitor_messages: int
    agent_messages: int
    ended_at: float | None
    ended_how: str | None
    rating: str | None = None  # as the visitor chose it
    rating_low: int = 0  # 1: at or below RATING_ALERT_AT

    @property
    def first_response(self) -> float | None:
        """Seconds from the visitor's first message to the first answer; None: unanswered."""
        if self.started_at is None or self.first_response_at is None:
            return None
        return self.first_response_at - self.started_at

    @property
    def to_end(self) -> float | None:
        """Seconds from the visitor's first message (or the card) to done or closed; None while
        it is open."""
        if self.ended_at is None:
            return None
        return self.ended_at - (self.started_at or self.opened_at)

    @property
    def to_done(self) -> float | None:
        return self.to_end if self.ended_how == "done" else None


class Figures(Repository):
    """Written inside the units that record what they count (`.now`)."""

    @writes
    def opened(self, thread: Thread, queue: str | None) -> None:
        self._db.execute(
            "INSERT INTO chat_figures (thread_id, client_id, channel, queue, opened_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (thread_id) DO NOTHING",
            [thread.id, thread.client_id, thread.channel, queue, self._clock()],
        )

    @writes
    def visitor_wrote(self, thread_id: int) -> None:
        now = self._clock()
        self._db.execute(
            "UPDATE chat_figures SET visitor_messages = visitor_messages + 1,"
            " started_at = COALESCE(started_at, ?), waiting_since = COALESCE(waiting_since, ?)"
            " WHERE thread_id = ?",
            [now, now, thread_id],
        )

    @writes
    def agent_wrote(self, thread_id: int, who: str | None) -> None:
        """An answer: from Slack (`who`, a user id) or Chatra's dashboard (an agent's name). The
        first after the visitor's first message is the first response; it ends a wait."""
        now = self._clock()
        self._db.execute(
            "UPDATE chat_figures SET agent_messages = agent_messages + 1,"
            " first_response_at = CASE WHEN started_at IS NULL THEN NULL"
            "  ELSE COALESCE(first_response_at, ?) END,"
            " first_responder = CASE WHEN started_at IS NULL OR first_response_at IS NOT NULL"
            "  THEN first_responder ELSE ? END,"
            " longest_wait_from = CASE WHEN waiting_since IS NOT NULL"
            "  AND ? - waiting_since > COALESCE(longest_wait, -1)"
            "  THEN waiting_since ELSE longest_wait_from END,"
            " longest_wait = CASE WHEN waiting_since IS NOT NULL"
            "  AND ? - waiting_since > COALESCE(longest_wait, -1)"
            "  THEN ? - waiting_since ELSE longest_wait END,"
            " waiting_since = NULL"
            " WHERE thread_id = ?",
            [now, who, now, now, now, thread_id],
        )

    @writes
    def ended(self, thread_id: int, how: str | None) -> None:
        """Marked done or closed (`how`); None: open again."""
        now = None if how is None else self._clock()
        self._db.execute(
            "UPDATE chat_figures SET ended_at = ?, ended_how = ? WHERE thread_id = ?",
            [now, how, thread_id],
        )

    @writes
    def rated(self, thread_id: int, rating: str, low: bool) -> None:
        self._db.execute(
            "UPDATE chat_figures SET rating = ?, rating_low = ? WHERE thread_id = ?",
            [rating, int(low), thread_id],
        )

    @reads
    def opened_between(self, since: float, until: float) -> list[ChatFigures]:
        """Chats whose card was posted in [since, until), oldest first."""
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM {FROM} WHERE f.opened_at >= ? AND f.opened_at < ?"
            " ORDER BY f.opened_at",
            [since, until],
        ).fetchall()
        return [ChatFigures(*row) for row in rows]
