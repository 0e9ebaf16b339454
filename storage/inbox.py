"""Accepted events waiting to be processed: stored before they are acknowledged."""

from collections.abc import Iterable
from dataclasses import dataclass

from storage.states import EventState
from storage.units import Repository, durable, reads, writes

ARRIVED = "chatra_bridge_inbox"  # the channel bridges listen on for new events (PostgreSQL)


@dataclass(frozen=True)
class FailedEvent:
    id: int
    source: str
    conversation: str
    attempts: int
    error: str | None
    received_at: float


@dataclass(frozen=True)
class InboxEvent:
    id: int
    source: str
    conversation: str
    payload: str
    attempts: int
    taken_over: bool = False  # from a bridge that stopped answering: it may be half done


class Inbox(Repository):
    @durable  # acknowledged next: must survive a power cut
    def add(self, source: str, dedupe_key: str, conversation: str, payload: str) -> int | None:
        """Store an event; None when an event with the same key was already stored (by this
        bridge or another). Its lane first, then the event, told to the other bridges as it
        commits: two statements, each whole on its own (a lane without events is claimed by
        nobody), the fewest round trips to a database across a network."""
        self._db.execute(  # inserted only when missing: on PostgreSQL an insert that meets
            # a lane some unit is changing waits for that unit's end, the webhook with it
            "INSERT INTO lanes (lane) SELECT ? WHERE NOT EXISTS"
            " (SELECT 1 FROM lanes WHERE lane = ?) ON CONFLICT (lane) DO NOTHING",
            [conversation, conversation],
        )
        return self._db.execute(
            "INSERT INTO inbox (source, dedupe_key, conversation, payload, state, attempts,"
            " received_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)"
            f" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id{self._db.notified(ARRIVED, 'id')}",
            [source, dedupe_key, conversation, payload, self._clock()],
        ).scalar()

    @reads
    def pending(
        self,
        holder: str,
        *,
        limit: int = 500,
        source: str | None = None,
        ids: Iterable[int] = (),
        lanes: Iterable[str] = (),
    ) -> list[InboxEvent]:
        """Pending events of the lanes `holder` holds, in order, of one source (`chatra` /
        `slack`) or of all; only those of the lanes of `ids` or of `lanes` when either is
        given (an event told of may follow one in its lane that nobody told of)."""
        ids, lanes = list(ids), list(lanes)
        where, args = "", []
        if ids or lanes:
            told = f"SELECT conversation FROM inbox WHERE id IN ({', '.join('?' * len(ids))})"
            among = [f"i.conversation IN ({told})"] if ids else []
            among += [f"i.conversation IN ({', '.join('?' * len(lanes))})"] if lanes else []
            where, args = f" AND ({' OR '.join(among)})", [*ids, *lanes]
        rows = self._db.execute(
            "SELECT i.id, i.source, i.conversation, i.payload, i.attempts FROM inbox i"
            " JOIN lanes l ON l.lane = i.conversation AND l.holder = ?"
            f" WHERE i.state = 'pending' AND i.source = coalesce(?, i.source){where}"
            " ORDER BY i.id LIMIT ?",
            [holder, source, *args, limit],
        ).fetchall()
        return [InboxEvent(*row) for row in rows]

    @reads
    def last_id(self) -> int:
        """The newest event's id (0 when none): events up to it were stored before now."""
        return self._db.execute("SELECT coalesce(max(id), 0) FROM inbox").scalar()

    @writes
    def mark_done(self, event_id: int) -> None:
        self._set(event_id, state=EventState.DONE, error=None)

    @writes
    def mark_failed(self, event_id: int, error: str) -> None:
        self._set(event_id, state=EventState.FAILED, error=error)

    @writes
    def record_attempt(self, event_id: int, error: str) -> None:
        self._db.execute(
            "UPDATE inbox SET attempts = attempts + 1, error = ? WHERE id = ?", [error, event_id]
        )

    @reads
    def last_error(self) -> str | None:
        row = self._db.execute(
            "SELECT error FROM inbox WHERE state = 'failed' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    @reads
    def failed(self, after_id: int = 0, limit: int = 1000) -> list[FailedEvent]:
        """Events that could not be carried out, oldest first."""
        rows = self._db.execute(
            "SELECT id, source, conversation, attempts, error, received_at FROM inbox"
            " WHERE state = 'failed' AND id > ? ORDER BY id LIMIT ?",
            [after_id, limit],
        ).fetchall()
        return [FailedEvent(*row) for row in rows]

    @durable
    def retry(self, event_ids: list[int] | None = None) -> list[int]:
        """Make failed events pending again (all of them with None); the ids of those that were."""
        where, args = "state = 'failed'", []
        if event_ids is not None:
            where += f" AND id IN ({', '.join('?' * len(event_ids))})"
            args = list(event_ids)
        with self._db.transaction():
            found = [
                row[0] for row in self._db.execute(f"SELECT id FROM inbox WHERE {where}", args)
            ]
            self._db.execute(
                f"UPDATE inbox SET state = 'pending', attempts = 0 WHERE {where}", args
            )
            self._db.notify(ARRIVED, "")  # look at every pending event
        return found

    @reads
    def count(self, state: str) -> int:
        return self._db.execute("SELECT count(*) FROM inbox WHERE state = ?", [state]).scalar()

    def _set(self, event_id: int, **values: object) -> None:
        self._db.update("inbox", "id", event_id, values)
