"""Slack posts the bridge owes, keyed by what they are for: the intent is stored before the post."""

import time
from dataclasses import dataclass

from sqlite_utils import Database

from storage.database import durable, update_row


@dataclass(frozen=True)
class SlackPost:
    key: str
    ts: str | None  # None: an earlier try may or may not have reached Slack
    created_at: float


class SlackPosts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> SlackPost | None:
        row = self._db.conn.execute(
            "SELECT key, ts, created_at FROM slack_posts WHERE key = ?", [key]
        ).fetchone()
        return SlackPost(*row) if row else None

    def count(self, key_prefix: str) -> int:
        return self._db.execute(
            "SELECT count(*) FROM slack_posts WHERE key LIKE ? || '%'", [key_prefix]
        ).fetchone()[0]

    def latest(self, key_prefix: str) -> SlackPost | None:
        """The newest post whose key starts with `key_prefix`."""
        row = self._db.execute(
            "SELECT key, ts, created_at FROM slack_posts WHERE key LIKE ? || '%'"
            " ORDER BY created_at DESC LIMIT 1",
            [key_prefix],
        ).fetchone()
        return SlackPost(*row) if row else None

    def key_at(self, channel: str, ts: str) -> str | None:
        """What the post at `ts` was for, if it is one of ours."""
        row = self._db.execute(
            "SELECT key FROM slack_posts WHERE channel = ? AND ts = ?", [channel, ts]
        ).fetchone()
        return row[0] if row else None

    def intend(self, key: str, channel: str, thread_ts: str | None) -> None:
        """Record a post about to be made, on disk before Slack is called."""
        with durable(self._db):
            self._db.conn.execute(
                "INSERT OR IGNORE INTO slack_posts (key, channel, thread_ts, created_at)"
                " VALUES (?, ?, ?, ?)",
                [key, channel, thread_ts, time.time()],
            )

    def posted(self, key: str, ts: str, channel: str) -> None:
        """The post is made; `channel` is where Slack put it (a DM's D… id for a user id)."""
        update_row(self._db, "slack_posts", "key", key, {"ts": ts, "channel": channel})
