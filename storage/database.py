"""Opening the SQLite database the way the bridge needs it."""

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database

from storage.schema import create_schema

BUSY_TIMEOUT_MS = 50
MIN_FREE_BYTES = 16 * 2**20  # below this the disk counts as full: writes are about to fail


def open_database(path: str | Path, *, migrate: bool = True, create: bool = True) -> Database:
    """Open (and create if needed) the database in WAL mode.

    Commits survive a crash of the process (`synchronous=NORMAL`); those that must also survive a
    power cut go through `durable()`: what is acknowledged, and every intent written before an
    outside effect. What only records an outcome can be lost to a power cut: it is found again
    (a post by its key, a send by Chatra's echo) or redone harmlessly (an event, idempotently).
    """
    if str(path) == ":memory:":
        conn = sqlite3.connect(":memory:")
    elif create:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path))
    else:  # an existing database only: never leave an empty file behind
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True)
    db = Database(conn)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    # Short: this runs on the event loop. Another process holding the write lock makes a write
    # fail fast (intake answers 503, the worker tries again later) instead of freezing all.
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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


def write_problem(path: str | Path) -> str | None:
    """Why the database cannot be written now (full disk, locked, read-only, gone); None when it
    can. Blocking for up to half a second: run it in a thread. Opens its own connection."""
    path = Path(path)
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError as error:
        return f"{path.parent} cannot be read ({error.strerror})"
    if free < MIN_FREE_BYTES:
        return f"the disk is full ({free / 2**20:.1f} MB free)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0.5)
        try:
            conn.execute("BEGIN IMMEDIATE")  # takes the write lock: a write would go through
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as error:
        return str(error)
    return None
