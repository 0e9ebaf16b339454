"""Slash commands and interactions carried out: each at most once, though Slack's signature lets a
request be replayed for 5 minutes (to this bridge or another)."""

from storage.units import Repository, writes

KEPT = 3600.0  # seconds a request is remembered: far past Slack's 5-minute signature window


class Seen(Repository):
    @writes
    def first_time(self, key: str, now: float | None = None) -> bool:
        """Record `key`; False when it was recorded before (a replay)."""
        now = self._clock() if now is None else now
        with self._db.transaction():
            first = self._db.execute(
                "INSERT INTO seen_requests (key, at) VALUES (?, ?)"
                " ON CONFLICT (key) DO NOTHING RETURNING key",
                [key, now],
            ).fetchone()
            if first and int(now) % 60 == 0:  # now and then, forget what is long past
                self._db.execute("DELETE FROM seen_requests WHERE at < ?", [now - KEPT])
        return first is not None
