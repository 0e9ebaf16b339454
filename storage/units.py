"""Units of work: what the event loop awaits, and a database thread carries out.

A repository's public methods are units (`reads`, `writes`, `durable`, after Synapse's
`runInteraction`): the loop hands each one to a thread of the database and waits for nothing
meanwhile; the statements inside run there, synchronously, on that thread's own connection. A
statement run on a thread with an event loop is refused (`OnTheLoop`): a slow statement, a lock
or an fsync there would stall every request.

    class Threads(Repository):
        @reads
        def for_client(self, client_id: str) -> Thread | None: ...

    thread = await store.threads.for_client("c-1")   # from the event loop
"""

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar

if TYPE_CHECKING:
    from storage.database import Database

# read: may run beside others, on a connection of its own (SQLite); write: commits, possibly
# together with other writes that arrive at the same moment; durable: a write that must survive
# a power cut before it is answered (what is acknowledged): its commit waits for the disk.
Kind = Literal["read", "write", "durable"]
P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", bound="Repository")
Unit = Callable[Concatenate[R, P], Coroutine[Any, Any, T]]


class OnTheLoop(RuntimeError):
    """A statement ran on the event loop's thread: a bug, refused before it can stall the loop."""


class Repository:
    def __init__(self, db: "Database") -> None:
        self._db = db


def reads(method: Callable[Concatenate[R, P], T]) -> Unit[R, P, T]:
    return _unit(method, "read")


def writes(method: Callable[Concatenate[R, P], T]) -> Unit[R, P, T]:
    return _unit(method, "write")


def durable(method: Callable[Concatenate[R, P], T]) -> Unit[R, P, T]:
    return _unit(method, "durable")


def _unit(method: Callable[Concatenate[R, P], T], kind: Kind) -> Unit[R, P, T]:
    name = method.__qualname__  # "Threads.for_client": how the unit is timed and logged

    @functools.wraps(method)
    async def unit(self: R, *args: P.args, **kwargs: P.kwargs) -> T:
        work = functools.partial(method, self, *args, **kwargs)
        return await self._db.run(name, work, kind)

    return unit


def not_on_the_loop() -> None:
    """Refuse a statement on a thread that runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise OnTheLoop("a database statement ran on the event loop's thread: make it a unit of work")
