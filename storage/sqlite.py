"""SQLite through sqlite-utils: one file, one bridge.

Units of work run on threads of their own, never on the event loop: every write on one writer
thread and its connection (SQLite has one writer at a time anyway), reads on reader threads
with connections of their own (WAL lets them read while the writer writes). The writes that
arrive while the writer is busy commit together, in one transaction (each in a savepoint of
its own, so one that fails costs no other): durable ones that arrive in the same few
milliseconds share one fsync.
"""

import asyncio
import fcntl
import os
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TypeVar
from urllib.parse import quote

from sqlite_utils import Database as Utils

from storage.database import Database, DatabaseError, DatabaseUnavailable, Params, Result
from storage.handing import Handed, Units, hand_back, take
from storage.units import Kind, not_on_the_loop

BUSY_TIMEOUT_MS = 5000  # off the loop, a lock another process holds is waited for this long
MIN_FREE_BYTES = 16 * 2**20  # below this the disk counts as full: writes are about to fail
MOST_AT_ONCE = 200  # units carried out together, at most (writes: in one commit)
T = TypeVar("T")


class SqliteDatabase(Database):
    dialect = "sqlite"
    now = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, path: str, *, create: bool = True) -> None:
        """Open in WAL mode; commits are `synchronous=NORMAL` (they survive a crash of the
        process), `FULL` in a durable transaction."""
        self.where = path
        self._create = create
        self.conn = self._connect()  # the writer's
        self.utils = Utils(self.conn)  # sqlite-utils: the schema as it is, backups
        self._depth = 0
        self._durable = False  # the open transaction's
        self._local = threading.local()  # the reader thread's own connection
        self._reads: Units = queue.SimpleQueue()
        self._writes: Units = queue.SimpleQueue()
        self._reader: threading.Thread | None = None
        self._writer: threading.Thread | None = None
        self._reader_conns: list[sqlite3.Connection] = []
        self._started = threading.Lock()
        self._counting = threading.Lock()
        self._handed = self._begun = 0  # units handed over, and started: the difference waits
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        path = self.where
        try:
            if path == ":memory:":
                conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            elif self._create:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            else:  # an existing database only: never leave an empty file behind
                conn = sqlite3.connect(
                    f"file:{quote(path)}?mode=rw",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # Another process holding the write lock (`chatra-bridge db`, a backup) is waited
            # for, off the loop; intake gives up sooner and asks for the event again.
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as error:
            raise _ours(error) from error
        return conn

    # -- units of work --

    async def run(
        self, name: str, work: Callable[[], T], kind: Kind = "read", *, answering: bool = False
    ) -> T:
        """One writer for all (SQLite's own rule); reads beside it, whoever waits."""
        if self._closed:
            raise DatabaseUnavailable(f"{self.where} is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._count(handed=1)
        reads = kind == "read" and self.where != ":memory:"  # a memory database has one
        self._start(reads)
        (self._reads if reads else self._writes).put(Handed(name, work, kind, future))
        return await future

    @property
    def waiting(self) -> int:
        return self._handed - self._begun

    def _count(self, handed: int = 0, begun: int = 0) -> None:
        with self._counting:
            self._handed += handed
            self._begun += begun

    def _start(self, reads: bool) -> None:
        with self._started:
            if reads and self._reader is None:
                self._reader = threading.Thread(
                    target=self._serve,
                    args=(self._reads, self._read),
                    name="sqlite-reader",
                    daemon=True,
                )
                self._reader.start()
            if not reads and self._writer is None:
                self._writer = threading.Thread(
                    target=self._serve,
                    args=(self._writes, self._commit),
                    name="sqlite-writer",
                    daemon=True,
                )
                self._writer.start()

    def _serve(self, units: Units, carry: "Carry") -> None:
        """Take every unit that waits, carry them out together, and hand each its outcome with
        one call to the loop; until closed."""
        while (batch := take(units, MOST_AT_ONCE)) is not None:
            self._count(begun=len(batch))
            waiting = [unit for unit in batch if not unit.future.cancelled()]
            if waiting:
                carry(waiting)
                hand_back(waiting)

    def _read(self, batch: list[Handed]) -> None:
        """On the reader's own connection: each read on its own."""
        if getattr(self._local, "conn", None) is None:
            self._local.conn = self._connect()
            self._reader_conns.append(self._local.conn)
        for unit in batch:
            started = time.perf_counter()
            try:
                unit.result = unit.work()
            except Exception as error:
                unit.error = error
            self.observe(unit.name, started - unit.queued, time.perf_counter() - started)

    def _commit(self, batch: list[Handed]) -> None:
        """One transaction for the batch, each write in a savepoint: one that fails is undone
        alone; a commit that fails fails them all. Durable if any of them must be."""
        started = time.perf_counter()
        try:
            with self.transaction(durable=any(w.kind == "durable" for w in batch)):
                for write in batch:
                    self.conn.execute("SAVEPOINT unit")
                    try:
                        write.result = write.work()
                    except Exception as error:
                        self.conn.execute("ROLLBACK TO unit")
                        write.error = error
                    finally:
                        self.conn.execute("RELEASE unit")
        except Exception as error:  # locked, full, gone: none of it is kept
            for write in batch:
                write.error = write.error or error
        ran = time.perf_counter() - started
        for write in batch:
            self.observe(write.name, started - write.queued, ran)

    # -- statements, on the calling thread's connection --

    def _conn(self) -> sqlite3.Connection:
        not_on_the_loop()
        return getattr(self._local, "conn", None) or self.conn

    def execute(self, sql: str, params: Params = ()) -> Result:
        conn = self._conn()
        try:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall()
        except sqlite3.Error as error:
            raise _ours(error) from error
        return Result(rows, cursor.rowcount)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        conn = self._conn()
        try:
            conn.executemany(sql, rows)
        except sqlite3.Error as error:
            raise _ours(error) from error

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[None]:
        not_on_the_loop()
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
        """Full disk, locked, read-only, gone, closed. Opens its own connection, for up to half
        a second."""
        if self._closed:
            return f"{self.where} is closed"
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
        self._closed = True
        for units, thread in ((self._writes, self._writer), (self._reads, self._reader)):
            if thread is not None:
                units.put(None)
                thread.join()
        for conn in [*self._reader_conns, self.conn]:
            conn.close()


Carry = Callable[[list[Handed]], None]


def _ours(error: sqlite3.Error) -> DatabaseError:
    if isinstance(error, sqlite3.OperationalError):  # locked, full, read-only, gone
        return DatabaseUnavailable(str(error))
    return DatabaseError(f"{type(error).__name__}: {error}")


def serve_alone(path: str | Path) -> IO[str]:
    """One bridge per SQLite file (its worker, pacing and leases assume it is alone): an
    exclusive lock on `<path>.lock`, held while the returned file stays open (the process's
    life: the system lets go of it however the process ends). DatabaseError if another holds it."""
    lock = open(f"{path}.lock", "a+")  # noqa: SIM115 - kept open on purpose
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        lock.close()
        raise DatabaseError(f"{path} is served by another chatra-bridge ({holder})") from None
    lock.truncate(0)
    lock.write(f"pid {os.getpid()}\n")
    lock.flush()
    return lock
