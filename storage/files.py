"""Files shared with visitors, kept in the database: every bridge on it serves every link."""

from dataclasses import dataclass

from storage.units import Repository, reads, writes


@dataclass(frozen=True)
class StoredFile:
    name: str
    body: bytes


SHARED, CHART = "shared", "chart"  # a file shared with a visitor; one the bridge drew
CHARTS_KEPT = 20  # App Home's charts, the newest: a teammate's open tab may still show one


class Files(Repository):
    @writes
    def put(self, token: str, name: str, body: bytes, now: float, kind: str = SHARED) -> None:
        """Keep `body` under `token` (a second copy of the same file changes nothing)."""
        self._db.execute(
            "INSERT INTO shared_files (token, name, body, size, created_at, kind)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING",
            [token, name, body, len(body), now, kind],
        )

    @reads
    def has(self, token: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM shared_files WHERE token = ?", [token]).fetchone()
            is not None
        )

    @reads
    def get(self, token: str) -> StoredFile | None:
        row = self._db.execute(
            "SELECT name, body FROM shared_files WHERE token = ?", [token]
        ).fetchone()
        return StoredFile(row[0], bytes(row[1])) if row else None

    @writes
    def forget(self, tokens: list[str]) -> None:
        self._db.executemany("DELETE FROM shared_files WHERE token = ?", [(t,) for t in tokens])

    @writes
    def prune(self, older_than: float, max_bytes: int) -> int:
        """Delete the files kept since before `older_than`, then the oldest shared ones while
        they take more than `max_bytes` together, and the charts but the newest CHARTS_KEPT;
        how many went."""
        with self._db.transaction():
            gone = self._db.execute(
                "DELETE FROM shared_files WHERE created_at < ?", [older_than]
            ).rowcount
            kept = self._db.execute(
                "SELECT token, size, kind FROM shared_files ORDER BY created_at DESC, token"
            ).fetchall()
            total, charts, over = 0, 0, []
            for token, size, kind in kept:  # the newest first: what passes its cap goes
                if kind == CHART:
                    charts += 1
                    if charts > CHARTS_KEPT:
                        over.append((token,))
                    continue
                total += size
                if total > max_bytes:
                    over.append((token,))
            self._db.executemany("DELETE FROM shared_files WHERE token = ?", over)
        return gone + len(over)
