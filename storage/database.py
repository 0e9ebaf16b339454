"""Opening the SQLite database the way the bridge needs it."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from storage.schema import create_schema


def open_database(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (and create if needed) the database in WAL mode.

    Commits survive a crash of the process (`synchronous=NORMAL`); those that must also survive a
    power cut go through `durable()`: what is acknowledged, and every intent written before an
    outside effect. What only records an outcome can be lost to a power cut: it is found again
    (a post by its key, a send by Chatra's echo) or redone harmlessly (an event, idempotently).
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path))
    db = Database(conn)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA busy_timeout = 5000")
    if migrate:
        create_schema(db)
    return db


@contextmanager
def durable(db: Database) -> Iterator[None]:
    """A transaction that is on disk when it ends, and with it every commit before it (in WAL
    mode one fsync of the log covers all of them)."""
    db.conn.execute("PRAGMA synchronous = FULL")
    try:
        with db.conn:
            yield
    finally:
        db.conn.execute("PRAGMA synchronous = NORMAL")


def update_row(db: Database, table: str, key: str, value: object, values: dict) -> None:
    """UPDATE one row by its key; plain SQL: sqlite-utils' update() reads the schema each time.
    Table and column names come from our code, never from input."""
    columns = ", ".join(f"{column} = ?" for column in values)
    with db.conn:
        db.conn.execute(f"UPDATE {table} SET {columns} WHERE {key} = ?", [*values.values(), value])


def is_reachable(db: Database) -> bool:
    try:
        db.execute("SELECT 1 FROM inbox LIMIT 1").fetchall()
    except sqlite3.Error:
        return False
    return True
