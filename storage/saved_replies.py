"""Saved replies: texts the team sends often, by name, shared by every bridge."""

from dataclasses import dataclass

from storage.units import Repository, reads, writes


@dataclass(frozen=True)
class SavedReply:
    name: str
    text: str
    created_by: str


class SavedReplies(Repository):
    @writes
    def save(self, name: str, text: str, by: str) -> bool:
        """Save `text` under `name` (replacing one saved before); False when it replaced one."""
        new = self.get.now(name) is None
        self._db.execute(
            "INSERT INTO saved_replies (name, text, created_by, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET text = excluded.text,"
            " created_by = excluded.created_by, created_at = excluded.created_at",
            [name, text, by, self._clock()],
        )
        return new

    @reads
    def get(self, name: str) -> SavedReply | None:
        row = self._db.execute(
            "SELECT name, text, created_by FROM saved_replies WHERE name = ?", [name]
        ).fetchone()
        return SavedReply(*row) if row else None

    @reads
    def all(self) -> list[SavedReply]:
        rows = self._db.execute(
            "SELECT name, text, created_by FROM saved_replies ORDER BY name"
        ).fetchall()
        return [SavedReply(*row) for row in rows]

    @writes
    def remove(self, name: str) -> bool:
        return self._db.execute("DELETE FROM saved_replies WHERE name = ?", [name]).rowcount > 0
