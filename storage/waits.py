"""Visitors waiting for an answer: since when, and whether they were nudged or escalated."""

from dataclasses import dataclass

from storage.units import Repository, reads, writes


@dataclass(frozen=True)
class Wait:
    thread_id: int
    since: float


class Waits(Repository):
    @writes
    def follow(self, thread_id: int, visitor_wrote: list[bool], now: float) -> None:
        """What happened in the chat, in order: True, the visitor wrote (a wait starts, or one
        already running keeps its start); False, they were answered (the wait ends)."""
        for wrote in visitor_wrote:
            if wrote:
                self._db.execute(
                    "INSERT INTO waits (thread_id, since, nudged, escalated) VALUES (?, ?, 0, 0)"
                    " ON CONFLICT (thread_id) DO NOTHING",
                    [thread_id, now],
                )
            else:
                self._answered(thread_id)

    @reads
    def since(self, thread_id: int) -> float | None:
        return self._db.execute("SELECT since FROM waits WHERE thread_id = ?", [thread_id]).scalar()

    @writes
    def answered(self, thread_id: int) -> None:
        self._answered(thread_id)

    def _answered(self, thread_id: int) -> None:
        self._db.execute("DELETE FROM waits WHERE thread_id = ?", [thread_id])

    @reads
    def due(self, step: str, before: float) -> list[Wait]:
        """Waits that started before `before` and have not had `step` ("nudged"/"escalated")."""
        assert step in ("nudged", "escalated")
        rows = self._db.execute(
            f"SELECT thread_id, since FROM waits WHERE {step} = 0 AND since <= ? ORDER BY since",
            [before],
        ).fetchall()
        return [Wait(*row) for row in rows]

    @writes
    def mark(self, thread_id: int, step: str) -> None:
        assert step in ("nudged", "escalated")
        self._db.execute(f"UPDATE waits SET {step} = 1 WHERE thread_id = ?", [thread_id])
