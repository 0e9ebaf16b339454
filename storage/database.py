"""The database the bridge keeps, SQLite (a file: the default) or PostgreSQL (DATABASE_URL), as
the repositories use it: one SQL for both (`?` placeholders, ON CONFLICT, RETURNING), a statement
committed on its own unless inside `transaction()`, every driver error one of ours.

Commits survive a crash of the bridge; those that must also survive a crash of the machine are
`transaction(durable=True)`: what is acknowledged, and every intent written before an outside
effect. On SQLite, what only records an outcome can be lost to a power cut: it is found again at
the next start (a post by its key, a send by Chatra's echo) or redone harmlessly (an event,
idempotently). On PostgreSQL every commit is durable: its server can crash while the bridges
carry on, and they would not know what to look for again.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

# read: may run beside others, on a connection of its own (SQLite); write: commits, possibly
# together with other writes that arrive at the same moment; durable: a write that must survive
# a power cut before it is answered (what is acknowledged): its commit waits for the disk.
Kind = Literal["read", "write", "durable"]

Params = Sequence[Any]
T = TypeVar("T")
# Told of each unit of work: its name, seconds it waited for a thread, seconds it ran.
Observer = Callable[[str, float, float], None]


class DatabaseError(Exception):
    """A statement failed; the message says why (never with a password)."""


class DatabaseUnavailable(DatabaseError):
    """Locked, unreachable, full, timed out or read-only: worth waiting out."""


@dataclass(frozen=True)
class Result:
    rows: list[tuple[Any, ...]]
    rowcount: int

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def scalar(self) -> Any:
        """The first column of the first row (None without one)."""
        return self.rows[0][0] if self.rows else None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)


class Database(ABC):
    dialect: ClassVar[str]  # "sqlite" | "postgresql"
    # SQL for "now" in seconds since the epoch, by the database's clock: one clock for every
    # bridge on the database, whatever their own say.
    now: ClassVar[str]
    # Appended to a SELECT that claims rows: the rows another bridge is claiming are skipped.
    skip_locked: ClassVar[str] = ""
    # Appended to a SELECT whose rows the transaction then changes: others wait for it. (A
    # SQLite transaction holds the whole file already.)
    for_update: ClassVar[str] = ""
    shared: ClassVar[bool] = False  # other bridges may use it at the same time
    where: str  # the file, or the URL without its password: for messages
    observe: Observer = staticmethod(lambda name, waited, ran: None)

    @abstractmethod
    async def run(
        self, name: str, work: Callable[[], T], kind: Kind = "read", *, answering: bool = False
    ) -> T:
        """Carry out `work` (a unit of work: its statements, its transaction) on a thread of
        the database, and wait for it without holding up the event loop. `answering`: someone
        waits for the answer (Chatra's webhook, Slack's event, /healthz): it does not queue
        behind the worker's units where the database can keep them apart."""

    @property
    @abstractmethod
    def waiting(self) -> int:
        """Units of work handed over and not yet started."""

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> Result: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    @abstractmethod
    def transaction(self, *, durable: bool = False) -> AbstractContextManager[None]:
        """All statements inside commit together or not at all; nested, the outermost decides
        (a durable one cannot nest in one that is not)."""

    @abstractmethod
    def json_text(self, column: str, key: str) -> str:
        """SQL for the text at `key` of the JSON object in `column`."""

    def update(self, table: str, key: str, value: object, values: dict[str, object]) -> None:
        """UPDATE one row by its key. Table and column names come from our code, never input."""
        columns = ", ".join(f"{column} = ?" for column in values)
        self.execute(f"UPDATE {table} SET {columns} WHERE {key} = ?", [*values.values(), value])

    def notify(self, channel: str, payload: str) -> None:  # noqa: B027 - shared databases only
        """Tell the bridges listening on `channel` when this transaction commits."""

    def notified(self, channel: str, column: str) -> str:
        """SQL to append to a RETURNING clause: each row's `column` is told to the bridges
        listening on `channel` when the statement commits (nothing on a database of one)."""
        return ""

    @abstractmethod
    def write_problem(self) -> str | None:
        """Why the database cannot be written now; None when it can. Blocking: run it in a
        thread."""

    @abstractmethod
    def close(self) -> None: ...


def is_url(where: str | Path) -> bool:
    """A PostgreSQL URL, not the path of a SQLite file."""
    return str(where).startswith(("postgresql://", "postgres://"))


def without_password(url: str) -> str:
    """The URL to show (or to hand a tool, the password going by PGPASSWORD)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}@{host}"))
