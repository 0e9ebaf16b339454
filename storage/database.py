"""Opening the SQLite database the way the bridge needs it."""

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from storage.schema import create_schema


def open_database(path: str | Path) -> Database:
    """Open (and create if needed) the database in WAL mode with a durable commit.

    `synchronous=FULL` makes a committed row survive a power cut, not only a process crash: an
    event is acknowledged only after it is stored, so that commit must really be on disk.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path))
    db = Database(conn)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA busy_timeout = 5000")
    create_schema(db)
    return db


def is_reachable(db: Database) -> bool:
    try:
        db.execute("SELECT 1 FROM inbox LIMIT 1").fetchall()
    except sqlite3.Error:
        return False
    return True
