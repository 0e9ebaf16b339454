"""Who carries out which lane's events: a lease per lane, so that one chat's events are carried
out in order by one bridge at a time, and those of a bridge that stopped answering are taken
over once its leases expire."""

from collections.abc import Iterable
from dataclasses import dataclass

from storage.units import Repository, reads, writes

CHUNK = 500  # lanes per statement


@dataclass(frozen=True)
class Claimed:
    lane: str
    taken_over: bool  # another bridge held it and let its lease expire: it may be half done


class Lanes(Repository):
    @writes
    def claim(self, holder: str, ttl: float, limit: int) -> list[Claimed]:
        """Lanes with pending events that nobody holds, or whose lease expired (its holder
        stopped answering, or is `holder` itself after a stall), held by `holder` for `ttl`
        seconds from now. Lanes another bridge is claiming at this moment are skipped. One
        statement: `taken_from` keeps who held a lane before (the right side of SET sees the
        row as it was)."""
        db = self._db
        rows = db.execute(
            f"UPDATE lanes SET holder = ?, expires_at = {db.now} + ?,"
            " taken_from = CASE WHEN holder <> ? THEN holder END"
            " WHERE lane IN (SELECT lane FROM lanes"
            " WHERE lane IN (SELECT conversation FROM inbox WHERE state = 'pending')"
            f" AND (holder IS NULL OR expires_at < {db.now}) LIMIT ?{db.skip_locked})"
            " RETURNING lane, taken_from",
            [holder, ttl, holder, limit],
        )
        return [Claimed(lane, was is not None) for lane, was in rows]

    @writes
    def hold(self, lane: str, holder: str, ttl: float) -> Claimed | None:
        """`holder` holds `lane` for `ttl` seconds from now: taken when nobody holds it or its
        lease expired (`taken_over` when another held it: its work may be half done), renewed
        when it is `holder`'s; None when another bridge holds it."""
        db = self._db
        row = db.execute(
            f"INSERT INTO lanes (lane, holder, expires_at) VALUES (?, ?, {db.now} + ?)"
            " ON CONFLICT (lane) DO UPDATE SET holder = excluded.holder,"
            " expires_at = excluded.expires_at,"
            " taken_from = CASE WHEN lanes.holder <> excluded.holder THEN lanes.holder END"
            f" WHERE lanes.holder IS NULL OR lanes.holder = excluded.holder"
            f" OR lanes.expires_at < {db.now} RETURNING taken_from",
            [lane, holder, ttl],
        ).fetchone()
        return Claimed(lane, row[0] is not None) if row else None

    @writes
    def take(self, lane: str, holder: str, ttl: float) -> Claimed | None:
        """As `hold` for a lane that exists, for what intake stores, which must not wait: a lane
        some unit of work is changing right now (another bridge's, or this one's worker) is
        left as it is (None); the worker claims what nobody took."""
        db = self._db
        row = db.execute(
            f"UPDATE lanes SET holder = ?, expires_at = {db.now} + ?,"
            " taken_from = CASE WHEN holder <> ? THEN holder END"
            " WHERE lane IN (SELECT lane FROM lanes WHERE lane = ?"
            f" AND (holder IS NULL OR holder = ? OR expires_at < {db.now}){db.skip_locked})"
            " RETURNING taken_from",
            [holder, ttl, holder, lane, holder],
        ).fetchone()
        return Claimed(lane, row[0] is not None) if row else None

    @writes
    def fence(self, lane: str, holder: str, ttl: float) -> bool:
        """Whether `holder` still holds `lane` (nobody took it over); if so, its lease runs
        `ttl` seconds from now."""
        return (
            self._db.execute(
                f"UPDATE lanes SET expires_at = {self._db.now} + ? WHERE lane = ? AND holder = ?"
                " RETURNING 1",
                [ttl, lane, holder],
            ).fetchone()
            is not None
        )

    @reads
    def left(self, lane: str, holder: str) -> float | None:
        """Seconds left of `holder`'s lease on `lane` (negative: expired, nobody took it
        over); None when another bridge holds it."""
        db = self._db
        return db.execute(
            f"SELECT expires_at - {db.now} FROM lanes WHERE lane = ? AND holder = ?",
            [lane, holder],
        ).scalar()

    @writes
    def renew(self, holder: str, ttl: float) -> set[str]:
        """Every lease of `holder` runs `ttl` seconds from now; the lanes it still holds (one
        another bridge took over meanwhile is not among them)."""
        rows = self._db.execute(
            f"UPDATE lanes SET expires_at = {self._db.now} + ? WHERE holder = ? RETURNING lane",
            [ttl, holder],
        )
        return {row[0] for row in rows}

    @writes
    def release(self, holder: str, lanes: Iterable[str], *, half_done: bool = False) -> None:
        """`holder` is done with `lanes` for now: another bridge may take them at once.
        `half_done`: their events may be half carried out; whoever takes them over is told."""
        change = "expires_at = 0" if half_done else "holder = NULL, expires_at = 0"
        lanes = list(lanes)
        for start in range(0, len(lanes), CHUNK):
            chunk = lanes[start : start + CHUNK]
            self._db.execute(
                f"UPDATE lanes SET {change}"
                f" WHERE holder = ? AND lane IN ({', '.join('?' * len(chunk))})",
                [holder, *chunk],
            )

    @writes
    def expire_all(self) -> None:
        """Whoever held a lane is gone (one SQLite file, one bridge): they may be taken over."""
        self._db.execute("UPDATE lanes SET expires_at = 0 WHERE holder IS NOT NULL")
