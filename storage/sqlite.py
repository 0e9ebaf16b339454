"""SQLite through sqlite-utils: one file, one bridge."""

import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database as Utils

from storage.database import Database, DatabaseError, DatabaseUnavailable, Params, Result

BUSY_TIMEOUT_MS = 50
MIN_FREE_BYTES = 16 * 2**20  # below this the disk counts as full: writes are about to fail


class SqliteDatabase(Database):
    dialect = "sqlite"
    now = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, path: str, *, create: bool = True) -> None:
        """Open in WAL mode; commits are `synchronous=NORMAL` (they survive a crash of the
        process), `FULL` in a durable transaction."""
        self.where = path
        try:
            if path == ":memory:":
                conn = sqlite3.connect(":memory:", isolation_level=None)
            elif create:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, isolation_level=None)
            else:  # an existing database only: never leave an empty file behind
                conn = sqlite3.connect(
                    f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None
                )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # Short: this runs on the event loop. Another process holding the write lock makes a
            # write fail fast (intake answers 503, the worker tries again later) instead of
            # freezing all.
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as error:
            raise _ours(error) from error
        self.conn = conn
        self.utils = Utils(conn)  # sqlite-utils: the schema as it is, backups
        self._depth = 0
        self._durable = False  # the open transaction's

    def execute(self, sql: str, params: Params = ()) -> Result:
        try:
            cursor = self.conn.execute(sql, params)
            rows = cursor.fetchall()
        except sqlite3.Error as error:
            raise _ours(error) from error
        return Result(rows, cursor.rowcount)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as error:
            raise _ours(error) from error

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[None]:
        if self._depth:  # inside another: it commits
            if durable and not self._durable:
                raise DatabaseError("a durable transaction cannot nest in one that is not")
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._durable = durable
        try:
            if durable:  # in WAL mode one fsync of the log covers every commit before it too
                self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            self._normal()
            raise _ours(error) from error
        self._depth = 1
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException as error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise _ours(error) from error
            raise
        finally:
            self._depth = 0
            self._normal()

    def _normal(self) -> None:
        """Back to `synchronous=NORMAL` after a durable transaction."""
        if self._durable:
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self._durable = False

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def write_problem(self) -> str | None:
        """Full disk, locked, read-only, gone. Opens its own connection, for up to half a
        second."""
        path = Path(self.where)
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

    def close(self) -> None:
        self.conn.close()


def _ours(error: sqlite3.Error) -> DatabaseError:
    if isinstance(error, sqlite3.OperationalError):  # locked, full, read-only, gone
        return DatabaseUnavailable(str(error))
    return DatabaseError(f"{type(error).__name__}: {error}")
