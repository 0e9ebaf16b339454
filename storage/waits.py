"""Visitors waiting for an answer: since when, and whether they were nudged or escalated."""

from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class Wait:
    thread_id: int
    since: float


class Waits:
    def __init__(self, db: Database) -> None:
        self._db = db

    def start(self, thread_id: int, since: float) -> None:
        """The visitor wrote; a wait already running keeps its start."""
        self._db.execute(
            "INSERT INTO waits (thread_id, since, nudged, escalated) VALUES (?, ?, 0, 0)"
            " ON CONFLICT (thread_id) DO NOTHING",
            [thread_id, since],
        )

    def since(self, thread_id: int) -> float | None:
        return self._db.execute("SELECT since FROM waits WHERE thread_id = ?", [thread_id]).scalar()

    def answered(self, thread_id: int) -> None:
        self._db.execute("DELETE FROM waits WHERE thread_id = ?", [thread_id])

    def due(self, step: str, before: float) -> list[Wait]:
        """Waits that started before `before` and have not had `step` ("nudged"/"escalated")."""
        assert step in ("nudged", "escalated")
        rows = self._db.execute(
            f"SELECT thread_id, since FROM waits WHERE {step} = 0 AND since <= ? ORDER BY since",
            [before],
        ).fetchall()
        return [Wait(*row) for row in rows]

    def mark(self, thread_id: int, step: str) -> None:
        assert step in ("nudged", "escalated")
        self._db.execute(f"UPDATE waits SET {step} = 1 WHERE thread_id = ?", [thread_id])
