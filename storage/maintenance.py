"""Database care: migrate the schema, count what is stored, prune what is old, back up online."""

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from storage.schema import SCHEMA_VERSION, create_schema, schema_version

# The chats a visitor may come back to, and their messages, are kept: only what is old is pruned.
_PRUNE = {
    "inbox": "state IN ('done', 'failed') AND received_at < :cutoff",
    "slack_posts": "created_at < :cutoff",
    "messages": "created_at < :cutoff AND state NOT IN ('held', 'sending')",
    "threads": "status = 'closed' AND updated_at < :cutoff",
}


def migrate(db: Database) -> tuple[int, int]:
    """Bring the schema up to date; returns (version before, version after)."""
    before = schema_version(db)
    create_schema(db)
    return before, SCHEMA_VERSION


def stats(db: Database, path: str | Path) -> dict[str, Any]:
    def count(sql: str) -> dict[str, int]:
        return dict(db.conn.execute(sql).fetchall())

    files = [Path(path), Path(f"{path}-wal")]
    return {
        "schema_version": schema_version(db),
        "size_mb": round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 2),
        "inbox": count("SELECT state, count(*) FROM inbox GROUP BY state"),
        "threads": count("SELECT status, count(*) FROM threads GROUP BY status"),
        "messages": count("SELECT state, count(*) FROM messages GROUP BY state"),
        "slack_posts": db.conn.execute("SELECT count(*) FROM slack_posts").fetchone()[0],
        "oldest_event": _day(db, "SELECT min(received_at) FROM inbox"),
        "newest_event": _day(db, "SELECT max(received_at) FROM inbox"),
    }


def prune(db: Database, older_than_seconds: float, now: float | None = None) -> dict[str, int]:
    """Delete what is older than the cutoff and no longer needed; returns rows deleted per table.
    A chat closed before the cutoff loses its thread mapping: a visitor back later gets a new
    thread. Edits in Slack of messages older than the cutoff no longer reach Chatra."""
    cutoff = (now or time.time()) - older_than_seconds
    deleted = {}
    with db.conn:
        for table, where in _PRUNE.items():
            cursor = db.conn.execute(f"DELETE FROM {table} WHERE {where}", {"cutoff": cutoff})
            deleted[table] = cursor.rowcount
        db.conn.execute("DELETE FROM waits WHERE thread_id NOT IN (SELECT id FROM threads)")
    return deleted


def backup(db: Database, destination: str | Path) -> int:
    """An online copy (SQLite's backup API): consistent while the bridge keeps running. Written
    beside the destination first, so a failed copy never replaces a good one."""
    destination = Path(destination)
    partial = destination.with_name(destination.name + ".part")
    target = sqlite3.connect(str(partial))
    try:
        db.conn.backup(target)
    finally:
        target.close()
    partial.replace(destination)
    return destination.stat().st_size


def parse_age(text: str) -> float:
    """`90d`, `12h` or `30m` as seconds."""
    units = {"d": 86400, "h": 3600, "m": 60}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit():
        raise ValueError(f"{text!r} is not an age like 90d, 12h or 30m")
    return int(number) * units[unit]


def _day(db: Database, sql: str) -> str | None:
    moment = db.conn.execute(sql).fetchone()[0]
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(moment)) if moment else None
