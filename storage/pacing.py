"""Budgets of posts (token buckets) kept in the database: every bridge on it takes from the same
one, so two bridges post no faster than one may."""

from storage.units import Repository, reads, writes


class Pacing(Repository):
    @writes
    def take(self, bucket: str, burst: int, per_second: float, most: int = 1) -> tuple[int, float]:
        """Take up to `most` posts from `bucket` (at most `burst` saved up, `per_second` more
        each second, by the database's clock): how many were taken, and the posts left (when
        none: less than one)."""
        db = self._db
        with db.transaction():
            row = self._locked(bucket, per_second)
            if row is None:  # its first use: made full, once, whichever bridge comes first
                db.execute(
                    f"INSERT INTO pacing (bucket, tokens, at) VALUES (?, ?, {db.now})"
                    " ON CONFLICT (bucket) DO NOTHING",
                    [bucket, float(burst)],
                )
                row = self._locked(bucket, per_second)
            left, now = min(float(burst), row[0]), row[1]
            taken = max(min(most, int(left)), 0)
            if taken:
                db.execute(
                    "UPDATE pacing SET tokens = ?, at = ? WHERE bucket = ?",
                    [left - taken, now, bucket],
                )
        return taken, left - taken

    def _locked(self, bucket: str, per_second: float) -> tuple[float, float] | None:
        """The budget's posts left now and the database's time, its row locked till commit
        (another bridge taking from it waits)."""
        db = self._db
        return db.execute(
            f"SELECT tokens + {_since(db.now)} * ?, {db.now} FROM pacing WHERE bucket = ?"
            f"{db.for_update}",
            [per_second, bucket],
        ).fetchone()

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
        left = self._db.execute(
            f"SELECT tokens + {_since(self._db.now)} * ? FROM pacing WHERE bucket = ?",
            [per_second, bucket],
        ).scalar()
        return float("inf") if left is None else left


def _since(now: str) -> str:
    """SQL for the seconds since a budget was counted, never fewer than none: a count kept by
    another clock (a bridge alone on SQLite counts by its own, and `db copy` brings it along)
    that is ahead of the database's waits for nothing."""
    return f"(CASE WHEN {now} > at THEN {now} - at ELSE 0 END)"
