"""Slack posts the bridge owes, keyed by what they are for: the intent is stored before the post."""

import time
from dataclasses import dataclass

from storage.units import Repository, durable, reads, writes


@dataclass(frozen=True)
class SlackPost:
    key: str
    ts: str | None  # None: an earlier try may or may not have reached Slack
    created_at: float


class SlackPosts(Repository):
    """Stamped by the wall clock, not the app's: `created_at` is compared with Slack's ts."""

    @reads
    def get(self, key: str) -> SlackPost | None:
        row = self._db.execute(
            "SELECT key, ts, created_at FROM slack_posts WHERE key = ?", [key]
        ).fetchone()
        return SlackPost(*row) if row else None

    @reads
    def get_many(self, keys: list[str]) -> dict[str, SlackPost]:
        """The posts of those keys that are recorded (made, or intended), by key."""
        found: dict[str, SlackPost] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self._db.execute(
                "SELECT key, ts, created_at FROM slack_posts"
                f" WHERE key IN ({', '.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            found |= {row[0]: SlackPost(*row) for row in rows}
        return found

    @reads
    def count(self, key_prefix: str) -> int:
        return self._db.execute(
            "SELECT count(*) FROM slack_posts WHERE key LIKE CAST(? AS TEXT) || '%'", [key_prefix]
        ).scalar()

    @reads
    def latest(self, key_prefix: str) -> SlackPost | None:
        """The newest post whose key starts with `key_prefix`."""
        row = self._db.execute(
            "SELECT key, ts, created_at FROM slack_posts WHERE key LIKE CAST(? AS TEXT) || '%'"
            " ORDER BY created_at DESC LIMIT 1",
            [key_prefix],
        ).fetchone()
        return SlackPost(*row) if row else None

    @reads
    def key_at(self, channel: str, ts: str) -> str | None:
        """What the post at `ts` was for, if it is one of ours."""
        return self._db.execute(
            "SELECT key FROM slack_posts WHERE channel = ? AND ts = ?", [channel, ts]
        ).scalar()

    @durable
    def intend(self, keys: list[str], channel: str, thread_ts: str | None) -> None:
        """Record posts about to be made, on disk before Slack is called: one write for all."""
        if not keys:
            return
        now = time.time()
        self._db.executemany(
            "INSERT INTO slack_posts (key, channel, thread_ts, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            [(key, channel, thread_ts, now) for key in keys],
        )

    @writes
    def posted(self, keys: list[str], ts: str, channel: str, thread_ts: str | None = None) -> None:
        """The post is made (one post for all `keys`, with or without an intent stored before);
        `channel` is where Slack put it (a DM's D… id for a user id)."""
        now = time.time()
        self._db.executemany(
            "INSERT INTO slack_posts (key, channel, thread_ts, ts, created_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET ts = excluded.ts, channel = excluded.channel",
            [(key, channel, thread_ts, ts, now) for key in keys],
        )
