"""Database care: migrate the schema, count what is stored, prune what is old, back up online."""

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from storage.database import Database, DatabaseError, without_password
from storage.postgres import PostgresDatabase
from storage.schema import SCHEMA_VERSION, TABLES, columns, create_schema, schema_version
from storage.sqlite import SqliteDatabase

# The chats a visitor may come back to, and their messages, are kept: only what is old is pruned.
_PRUNE = {
    "inbox": "state IN ('done', 'failed') AND received_at < ?",
    "slack_posts": "created_at < ?",
    "messages": "created_at < ? AND state NOT IN ('held', 'sending')",
    "threads": "status = 'closed' AND updated_at < ?",
    "outages": "until < ? AND told = 1",
}


def migrate(db: Database) -> tuple[int, int]:
    """Bring the schema up to date; returns (version before, version after)."""
    before = schema_version(db)
    create_schema(db)
    return before, SCHEMA_VERSION


def stats(db: Database) -> dict[str, Any]:
    def count(sql: str) -> dict[str, int]:
        return dict(db.execute(sql).fetchall())

    return {
        "schema_version": schema_version(db),
        "size_mb": round(_size(db) / 2**20, 2),
        "inbox": count("SELECT state, count(*) FROM inbox GROUP BY state"),
        "threads": count("SELECT status, count(*) FROM threads GROUP BY status"),
        "messages": count("SELECT state, count(*) FROM messages GROUP BY state"),
        "slack_posts": db.execute("SELECT count(*) FROM slack_posts").scalar(),
        "oldest_event": _day(db, "SELECT min(received_at) FROM inbox"),
        "newest_event": _day(db, "SELECT max(received_at) FROM inbox"),
    }


def _size(db: Database) -> int:
    if isinstance(db, SqliteDatabase):
        files = [Path(db.where), Path(f"{db.where}-wal")]
        return sum(f.stat().st_size for f in files if f.exists())
    tables = ", ".join(f"pg_total_relation_size('{table}')" for table in TABLES)
    return int(db.execute(f"SELECT {tables.replace(', ', ' + ')}").scalar())


def prune(db: Database, older_than_seconds: float, now: float | None = None) -> dict[str, int]:
    """Delete what is older than the cutoff and no longer needed; returns rows deleted per table.
    A chat closed before the cutoff loses its thread mapping: a visitor back later gets a new
    thread. Edits in Slack of messages older than the cutoff no longer reach Chatra."""
    cutoff = (now or time.time()) - older_than_seconds
    deleted = {}
    with db.transaction():
        for table, where in _PRUNE.items():
            deleted[table] = db.execute(f"DELETE FROM {table} WHERE {where}", [cutoff]).rowcount
        db.execute("DELETE FROM waits WHERE thread_id NOT IN (SELECT id FROM threads)")
        db.execute(
            "DELETE FROM outage_waits WHERE NOT EXISTS (SELECT 1 FROM outages o"
            " WHERE o.service = outage_waits.service AND o.since = outage_waits.since)"
        )
        db.execute(  # lanes nobody holds and no event of which is kept
            f"DELETE FROM lanes WHERE (holder IS NULL OR expires_at < {db.now})"
            " AND NOT EXISTS (SELECT 1 FROM inbox WHERE inbox.conversation = lanes.lane)"
        )
    return deleted


def vacuum(db: Database) -> None:
    """Give the space of what was deleted back (SQLite), or to new rows (PostgreSQL)."""
    if isinstance(db, SqliteDatabase):
        db.utils.vacuum()
    else:
        for table in TABLES:
            db.execute(f"VACUUM (ANALYZE) {table}")


def backup(db: Database, destination: str | Path) -> int:
    """An online copy, consistent while the bridges keep running: SQLite's backup API, or
    `pg_dump` (its custom format: restore with `pg_restore`). Written beside the destination
    first, so a failed copy never replaces a good one."""
    destination = Path(destination)
    partial = destination.with_name(destination.name + ".part")
    if isinstance(db, PostgresDatabase):
        _pg_dump(db, partial)
    else:
        assert isinstance(db, SqliteDatabase)
        target = sqlite3.connect(str(partial))
        try:
            db.conn.backup(target)
        finally:
            target.close()
    partial.replace(destination)
    return destination.stat().st_size


def _pg_dump(db: PostgresDatabase, into: Path) -> None:
    tool = shutil.which("pg_dump")
    if tool is None:
        raise DatabaseError(
            f"pg_dump is not installed here: back {db.where} up with"
            " `pg_dump --format=custom`, as for any PostgreSQL database"
        )
    password = urlsplit(db.url).password
    env = os.environ | ({"PGPASSWORD": password} if password else {})
    url = without_password(db.url)  # the password goes by the environment
    done = subprocess.run(
        [tool, "--format=custom", f"--file={into}", f"--dbname={url}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        into.unlink(missing_ok=True)
        raise DatabaseError(f"pg_dump failed: {done.stderr.strip()}")


def copy(source: Database, target: Database, batch: int = 1000) -> dict[str, int]:
    """Every row of `source` into `target` (of the same schema, and empty): from SQLite to
    PostgreSQL when a team starts running more than one bridge, say. Rows per table."""
    if any(target.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() for table in TABLES):
        raise DatabaseError(f"{target.where} is not empty: copy only into a new database")
    copied = {}
    with target.transaction(durable=True):
        for table in TABLES:
            names = columns(table)
            rows = source.execute(f"SELECT {', '.join(names)} FROM {table}").fetchall()
            insert = (
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            )
            for start in range(0, len(rows), batch):
                target.executemany(insert, rows[start : start + batch])
            copied[table] = len(rows)
        if target.dialect == "postgresql":  # ids go on from the highest copied
            for table in ("inbox", "threads", "messages"):
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" coalesce(max(id), 0) + 1, false) FROM {table}"
                )
    return copied


def parse_age(text: str) -> float:
    """`90d`, `12h` or `30m` as seconds."""
    units = {"d": 86400, "h": 3600, "m": 60}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit():
        raise ValueError(f"{text!r} is not an age like 90d, 12h or 30m")
    return int(number) * units[unit]


def _day(db: Database, sql: str) -> str | None:
    moment = db.execute(sql).scalar()
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(moment)) if moment else None
