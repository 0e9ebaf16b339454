"""Budgets of posts (token buckets), kept so that a restart, or another bridge taking over a
channel, goes on from what was used."""

from storage.units import Repository, reads, writes


class Pacing(Repository):
    @reads
    def stored(self, bucket: str) -> tuple[float, float] | None:
        """What was kept of a budget: its posts left, and when (seconds since the epoch)."""
        row = self._db.execute(
            "SELECT tokens, at FROM pacing WHERE bucket = ?", [bucket]
        ).fetchone()
        return (float(row[0]), float(row[1])) if row else None

    @writes
    def keep(self, bucket: str, tokens: float, at: float) -> None:
        """Keep a budget as its poster counted it."""
        self._db.execute(
            "INSERT INTO pacing (bucket, tokens, at) VALUES (?, ?, ?)"
            " ON CONFLICT (bucket) DO UPDATE SET tokens = excluded.tokens, at = excluded.at",
            [bucket, tokens, at],
        )
