"""Budgets of posts (token buckets) kept in the database: every bridge on it takes from the same
one, so two bridges post no faster than one may."""

from storage.units import Repository, reads, writes


class Pacing(Repository):
    @writes
    def take(self, bucket: str, burst: int, per_second: float) -> tuple[bool, float]:
        """Take one post from `bucket` (at most `burst` saved up, `per_second` more each second):
        whether it was taken, and the posts left (when not: less than one)."""
        now = self._db.now
        refilled = f"pacing.tokens + ({now} - pacing.at) * ?"
        taken = self._db.execute(
            f"INSERT INTO pacing (bucket, tokens, at) VALUES (?, ?, {now})"
            " ON CONFLICT (bucket) DO UPDATE SET"
            f" tokens = (CASE WHEN {refilled} > ? THEN ? ELSE {refilled} END) - 1, at = {now}"
            f" WHERE {refilled} >= 1 RETURNING tokens",
            [bucket, burst - 1, per_second, burst, burst, per_second, per_second],
        ).fetchone()
        if taken is not None:
            return True, taken[0]
        return False, min(self._tokens(bucket, per_second), 0.999)

    @reads
    def stored(self, bucket: str) -> tuple[float, float] | None:
        """What was kept of a budget: its posts left, and when (seconds since the epoch)."""
        row = self._db.execute(
            "SELECT tokens, at FROM pacing WHERE bucket = ?", [bucket]
        ).fetchone()
        return (float(row[0]), float(row[1])) if row else None

    @writes
    def keep(self, bucket: str, tokens: float, at: float) -> None:
        """Keep a budget counted elsewhere (in the memory of the one bridge on the database)."""
        self._db.execute(
            "INSERT INTO pacing (bucket, tokens, at) VALUES (?, ?, ?)"
            " ON CONFLICT (bucket) DO UPDATE SET tokens = excluded.tokens, at = excluded.at",
            [bucket, tokens, at],
        )

    @reads
    def tokens(self, bucket: str, per_second: float) -> float:
        """Posts that may go now (the bucket's `burst` when it was never used)."""
        return self._tokens(bucket, per_second)

    def _tokens(self, bucket: str, per_second: float) -> float:
        now = self._db.now
        left = self._db.execute(
            f"SELECT tokens + ({now} - at) * ? FROM pacing WHERE bucket = ?", [per_second, bucket]
        ).scalar()
        return float("inf") if left is None else left
