"""Accepted events waiting to be processed: stored before they are acknowledged."""

import sqlite3
import time
from dataclasses import dataclass

from sqlite_utils import Database

from storage.database import durable, update_row
from storage.states import EventState


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


class Inbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, source: str, dedupe_key: str, conversation: str, payload: str) -> int | None:
        """Store an event; None when an event with the same key was already stored."""
        try:
            with durable(self._db):  # acknowledged next: must survive a power cut
                cursor = self._db.conn.execute(
                    "INSERT INTO inbox (source, dedupe_key, conversation, payload, state, attempts,"
                    " received_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)",
                    [source, dedupe_key, conversation, payload, time.time()],
                )
        except sqlite3.IntegrityError:
            return None
        return cursor.lastrowid

    def pending(
        self, after_id: int = 0, limit: int = 500, source: str | None = None
    ) -> list[InboxEvent]:
        """Pending events in order, of one source (`chatra` / `slack`) or of all."""
        rows = self._db.execute(
            "SELECT id, source, conversation, payload, attempts FROM inbox"
            " WHERE state = 'pending' AND id > ? AND source = coalesce(?, source)"
            " ORDER BY id LIMIT ?",
            [after_id, source, limit],
        ).fetchall()
        return [InboxEvent(*row) for row in rows]

    def last_id(self) -> int:
        """The newest event's id (0 when none): events up to it were stored before now."""
        return self._db.execute("SELECT coalesce(max(id), 0) FROM inbox").fetchone()[0]

    def mark_done(self, event_id: int) -> None:
        self._set(event_id, state=EventState.DONE, error=None)

    def mark_failed(self, event_id: int, error: str) -> None:
        self._set(event_id, state=EventState.FAILED, error=error)

    def record_attempt(self, event_id: int, error: str) -> None:
        with self._db.conn:
            self._db.execute(
                "UPDATE inbox SET attempts = attempts + 1, error = ? WHERE id = ?",
                [error, event_id],
            )

    def last_error(self) -> str | None:
        row = self._db.execute(
            "SELECT error FROM inbox WHERE state = 'failed' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def failed(self, after_id: int = 0, limit: int = 1000) -> list[FailedEvent]:
        """Events that could not be carried out, oldest first."""
        rows = self._db.execute(
            "SELECT id, source, conversation, attempts, error, received_at FROM inbox"
            " WHERE state = 'failed' AND id > ? ORDER BY id LIMIT ?",
            [after_id, limit],
        ).fetchall()
        return [FailedEvent(*row) for row in rows]

    def retry(self, event_ids: list[int] | None = None) -> int:
        """Make failed events pending again (all of them with None); how many were."""
        where, args = "state = 'failed'", []
        if event_ids is not None:
            where += f" AND id IN ({', '.join('?' * len(event_ids))})"
            args = list(event_ids)
        with durable(self._db):
            cursor = self._db.conn.execute(
                f"UPDATE inbox SET state = 'pending', attempts = 0 WHERE {where}", args
            )
        return cursor.rowcount

    def count(self, state: str) -> int:
        return self._db.execute("SELECT count(*) FROM inbox WHERE state = ?", [state]).fetchone()[0]

    def _set(self, event_id: int, **values: object) -> None:
        update_row(self._db, "inbox", "id", event_id, values)
