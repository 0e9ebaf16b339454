"""Slack posts the bridge owes, keyed by what they are for: the intent is stored before the post."""

import time
from dataclasses import dataclass

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError


@dataclass(frozen=True)
class SlackPost:
    key: str
    ts: str | None  # None: an earlier try may or may not have reached Slack
    created_at: float


class SlackPosts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> SlackPost | None:
        try:
            row = self._db["slack_posts"].get(key)
        except NotFoundError:
            return None
        return SlackPost(row["key"], row["ts"], row["created_at"])

    def count(self, key_prefix: str) -> int:
        return self._db.execute(
            "SELECT count(*) FROM slack_posts WHERE key LIKE ? || '%'", [key_prefix]
        ).fetchone()[0]

    def key_at(self, channel: str, ts: str) -> str | None:
        """What the post at `ts` was for, if it is one of ours."""
        row = self._db.execute(
            "SELECT key FROM slack_posts WHERE channel = ? AND ts = ?", [channel, ts]
        ).fetchone()
        return row[0] if row else None

    def intend(self, key: str, channel: str, thread_ts: str | None) -> None:
        row = {"key": key, "channel": channel, "thread_ts": thread_ts, "created_at": time.time()}
        with self._db.conn:
            self._db["slack_posts"].insert(row, ignore=True)

    def posted(self, key: str, ts: str) -> None:
        with self._db.conn:
            self._db["slack_posts"].update(key, {"ts": ts})
