"""PostgreSQL through psycopg 3 and its pool: one database for every bridge of a team.

Units of work run on a pool of threads, each with a connection of its own, side by side: the
event loop waits for none of them. Each statement is bounded all the same: it times out after
`statement_timeout`, a lock is waited for `lock_timeout`, a connection at most
`connect_timeout`, and a server that vanishes is noticed by TCP keepalives; what times out
fails its unit, not the server.
Every commit waits for the WAL (`synchronous_commit = on`, whatever the server's default): unlike
SQLite's `synchronous=NORMAL`, PostgreSQL's asynchronous commit loses the last commits when the
server itself crashes, while the bridges go on as if they were kept, and a post or a send redone
without being looked for would be shown twice.
"""

import asyncio
import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from storage.database import (
    Database,
    DatabaseError,
    DatabaseUnavailable,
    Kind,
    Params,
    Result,
    without_password,
)
from storage.handing import Handed, Units, hand_back, take
from storage.units import not_on_the_loop

# Noticed within ~25 s when the server or the network between goes away without a word, within
# 10 s when what was sent goes unanswered.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
             "keepalives_count": 3, "tcp_user_timeout": 10_000}  # fmt: skip
RECONNECT_WAIT = 0.5  # seconds a statement waits for a new connection once its own broke
REST = 1.0  # then, seconds statements fail at once (the pool reconnects meanwhile)
ANSWERING = 2  # threads (and connections) kept for what someone waits on: intake
MOST_AT_ONCE = 32  # units a thread takes at once (and hands back with one call to the loop)
T = TypeVar("T")


class PostgresDatabase(Database):
    dialect = "postgresql"
    now = "CAST(EXTRACT(EPOCH FROM statement_timestamp()) AS DOUBLE PRECISION)"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    for_update = " FOR UPDATE"
    shared = True

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 4,
        connect_timeout: float = 5.0,
        statement_timeout: float = 5.0,
        lock_timeout: float = 1.0,
    ) -> None:
        self.url, self.where = url, without_password(url)
        self._pool_size = pool_size
        self._timeouts_ms = int(statement_timeout * 1000), int(lock_timeout * 1000)
        self._local = threading.local()  # this thread's connection, and whether in a transaction
        self._unreachable_until = 0.0  # after a failed reconnect: fail fast, not stall
        self._units: Units = queue.SimpleQueue()
        self._answers: Units = queue.SimpleQueue()  # what someone waits for the answer of
        self._counting = threading.Lock()
        self._handed = self._begun = 0  # units handed over, and started: the difference waits
        self._kept: set[psycopg.Connection] = set()  # the connections threads keep
        self._closed = False
        # Every connection is opened at start: a thread's first unit never waits for the pool
        # to grow (under load that took longer than RECONNECT_WAIT, and refused a webhook).
        connections = pool_size + ANSWERING + 1
        self._pool = ConnectionPool(
            url,
            min_size=connections,
            max_size=connections,
            timeout=connect_timeout,
            kwargs={
                "autocommit": True,
                "connect_timeout": max(int(connect_timeout), 1),
                "application_name": "chatra-bridge",
                **KEEPALIVE,
            },
            configure=self._configure,
            name="chatra-bridge",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except psycopg.Error as error:
            self._pool.close()
            raise DatabaseUnavailable(f"cannot reach {self.where}: {_reason(error)}") from error
        # One thread per connection keeps it between units; ANSWERING more for what someone
        # waits on; one more connection for the probe of /healthz and the command line.
        self._threads = [
            threading.Thread(target=self._serve, args=(units,), name=name, daemon=True)
            for units, name, count in (
                (self._units, "postgres", pool_size),
                (self._answers, "postgres-answering", ANSWERING),
            )
            for _ in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _configure(self, conn: psycopg.Connection) -> None:
        statement, lock = self._timeouts_ms
        conn.execute(
            f"SET synchronous_commit = on; SET statement_timeout = {statement};"
            f" SET lock_timeout = {lock}; SET idle_in_transaction_session_timeout = 60000;"
            " SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5;"
            " SET tcp_keepalives_count = 3"
        )

    async def run(
        self, name: str, work: Callable[[], T], kind: Kind = "read", *, answering: bool = False
    ) -> T:
        """Every commit is durable here, and PostgreSQL flushes those of many connections
        together itself: each kind runs alike, beside the others. What someone waits for the
        answer of runs on threads of its own: a worker held up by a lock holds up no answer."""
        if self._closed:
            raise DatabaseUnavailable(f"{self.where} is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._count(handed=1)
        (self._answers if answering else self._units).put(Handed(name, work, kind, future))
        return await future

    @property
    def waiting(self) -> int:
        return max(self._handed - self._begun, 0)

    def _count(self, handed: int = 0, begun: int = 0) -> None:
        with self._counting:
            self._handed += handed
            self._begun += begun

    def _serve(self, units: Units) -> None:
        """A thread of the pool, with a connection of its own: it takes its share of the units
        that wait and carries them out one by one; until closed."""
        self._local.keeps = True
        threads = self._pool_size if units is self._units else ANSWERING
        try:
            while (batch := take(units, MOST_AT_ONCE, threads)) is not None:
                self._count(begun=len(batch))
                waiting = [unit for unit in batch if not unit.future.cancelled()]
                for unit in waiting:
                    self._carry_out(unit)
                hand_back(waiting)
        finally:
            self._give_back()

    def _carry_out(self, unit: Handed) -> None:
        """A unit as one transaction: all of its writes commit, or none (a read runs as it
        says, each statement seeing what is committed)."""
        started = time.perf_counter()
        try:
            if unit.writes:
                with self.transaction(durable=True):  # as every commit here
                    if not _outcome(unit):
                        raise _RollBack
            else:
                _outcome(unit)
        except _RollBack:
            pass
        except Exception as error:  # the commit's, or the connection broke
            unit.error = unit.error or error
        self.observe(unit.name, started - unit.queued, time.perf_counter() - started)

    def execute(self, sql: str, params: Params = ()) -> Result:
        with self._connection() as conn:
            with self._beginning(conn):
                cursor = conn.execute(_pg(sql), _storable(params))
            rows = cursor.fetchall() if cursor.description else []  # there once synced
            return Result(rows, cursor.rowcount)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not rows:
            return
        with self._connection() as conn, self._beginning(conn), conn.cursor() as cursor:
            cursor.executemany(_pg(sql), [_storable(row) for row in rows])

    @contextmanager
    def _beginning(self, conn: psycopg.Connection) -> Iterator[None]:
        """What a transaction says before a statement (BEGIN, a savepoint) goes with it, in one
        round trip (a pipeline, synced on leaving it): a unit of work far from its server waits
        one round trip fewer."""
        prefix = getattr(self._local, "prefix", None)
        if not prefix:
            yield
            return
        self._local.prefix = []
        with conn.pipeline():
            for statement in prefix:
                conn.execute(statement)
            yield

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """This thread's connection. A thread of the pool keeps its own between units (taking
        one from the pool costs as much as a statement); any other thread (the command line,
        start-up) borrows one for a statement or a transaction. One that breaks goes back to
        the pool, which replaces it."""
        not_on_the_loop()
        conn = getattr(self._local, "conn", None)
        borrowed = conn is None and not getattr(self._local, "keeps", False)
        if conn is None:
            if time.monotonic() < self._unreachable_until:
                raise DatabaseUnavailable(f"{self.where} does not answer: trying again shortly")
            try:
                conn = self._local.conn = self._pool.getconn(timeout=RECONNECT_WAIT)
            except psycopg.Error as error:
                self._unreachable_until = time.monotonic() + REST
                raise _ours(error) from error
            self._kept.add(conn)
        try:
            yield conn
        except psycopg.Error as error:
            if conn.broken or conn.closed:
                self._give_back()
            raise _ours(error) from error
        finally:
            if borrowed:
                self._give_back()

    def _give_back(self) -> None:
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            self._kept.discard(conn)
            with contextlib.suppress(Exception):
                self._pool.putconn(conn)

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[None]:
        if getattr(self._local, "in_transaction", False):  # inside another: it commits
            if durable and not self._local.durable:
                raise DatabaseError("a durable transaction cannot nest in one that is not")
            yield
            return
        with self._connection() as conn:  # every commit is durable here
            self._local.in_transaction, self._local.durable = True, durable
            self._local.prefix = ["BEGIN"]  # sent with the first statement
            try:
                yield
            except BaseException:
                if not conn.broken and not self._nothing_sent():
                    conn.execute("ROLLBACK")
                raise
            else:
                if not self._nothing_sent():  # a transaction with no statement has nothing to end
                    conn.execute("COMMIT")
            finally:
                self._local.in_transaction, self._local.prefix = False, []

    def _nothing_sent(self) -> bool:
        """Whether the open transaction's BEGIN waits to be sent: it ran no statement yet."""
        return self._local.prefix[:1] == ["BEGIN"]

    def json_text(self, column: str, key: str) -> str:
        return f"({column}::jsonb ->> '{key}')"

    def notify(self, channel: str, payload: str) -> None:
        self.execute("SELECT pg_notify(?, ?)", [channel, payload])

    def notified(self, channel: str, column: str) -> str:
        return f", pg_notify('{channel}', CAST({column} AS TEXT))"

    def write_problem(self) -> str | None:
        """Unreachable, read-only (a standby), locked or out of space."""
        try:
            with self._pool.connection(timeout=2.0) as conn, conn.transaction():
                if conn.execute("SHOW transaction_read_only").fetchone() == ("on",):
                    return f"{self.where} is read-only (a standby?)"
                conn.execute("UPDATE schema_version SET version = version")
                raise _RollBack
        except _RollBack:
            return None
        except psycopg.Error as error:
            return _reason(error)

    def close(self) -> None:
        self._closed = True
        for thread in self._threads:
            (self._answers if thread.name.endswith("answering") else self._units).put(None)
        for thread in self._threads:
            thread.join()
        for conn in list(self._kept):  # each thread's own, idle now: back before the pool closes
            with contextlib.suppress(Exception):
                self._pool.putconn(conn)
        self._kept.clear()
        self._pool.close()


def _outcome(unit: Handed) -> bool:
    """Carry out `unit`, keeping its result or its error; whether it succeeded."""
    try:
        unit.result = unit.work()
    except Exception as error:
        unit.error = error
        return False
    return True


class _RollBack(Exception):
    """Leaves a transaction without committing it: what it wrote is undone."""


@functools.lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    """Our `?` placeholders as psycopg's `%s` (and a literal `%` as `%%`)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _storable(params: Params) -> Params:
    """PostgreSQL's text holds no NUL character (SQLite's does, and a visitor may type one): it is
    kept as U+FFFD, the character that stands for one that cannot be shown."""
    if not any(isinstance(p, str) and "\x00" in p for p in params):
        return params
    return [p.replace("\x00", "\ufffd") if isinstance(p, str) else p for p in params]


def _reason(error: psycopg.Error) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _ours(error: psycopg.Error) -> DatabaseError:
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return DatabaseUnavailable(_reason(error))  # gone, timed out, deadlocked, full, shut down
    if isinstance(error, psycopg.errors.ReadOnlySqlTransaction):
        return DatabaseUnavailable(_reason(error))
    return DatabaseError(f"{type(error).__name__}: {_reason(error)}")


def connect_async(url: str) -> Any:
    """A connection of its own (autocommit), for LISTEN and the leader's lock."""
    return psycopg.AsyncConnection.connect(
        url, autocommit=True, connect_timeout=5, application_name="chatra-bridge", **KEEPALIVE
    )
