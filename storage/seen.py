"""Slash commands and interactions carried out: each at most once, though Slack's signature lets a
request be replayed for 5 minutes."""

import sqlite3
import time

from sqlite_utils import Database

KEPT = 3600.0  # seconds a request is remembered: far past Slack's 5-minute signature window


class Seen:
    def __init__(self, db: Database) -> None:
        self._db = db

    def first_time(self, key: str, now: float | None = None) -> bool:
        """Record `key`; False when it was recorded before (a replay)."""
        now = time.time() if now is None else now
        try:
            with self._db.conn:
                self._db.conn.execute(
                    "INSERT INTO seen_requests (key, at) VALUES (?, ?)", [key, now]
                )
                if int(now) % 60 == 0:  # now and then, forget what is long past
                    self._db.conn.execute("DELETE FROM seen_requests WHERE at < ?", [now - KEPT])
        except sqlite3.IntegrityError:
            return False
        return True
