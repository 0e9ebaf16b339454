"""Units of work: what the event loop awaits, and a database thread carries out.

A repository's public methods are units (`reads`, `writes`, `durable`, after Synapse's
`runInteraction`): the loop hands each one to a thread of the database and waits for nothing
meanwhile; the statements inside run there, synchronously, on that thread's own connection. A
statement run on a thread with an event loop is refused (`OnTheLoop`): a slow statement, a lock
or an fsync there would stall every request.

Handing work to a thread and back costs about as much as a dozen statements, so a step of the
bridge that needs several is one unit: its own function, run with `Database.run`, calling each
repository method's statements directly (`.now`) on the database's thread.

    class Threads(Repository):
        @reads
        def for_client(self, client_id: str) -> Thread | None: ...

    thread = await store.threads.for_client("c-1")          # a unit, from the event loop
    thread = store.threads.for_client.now("c-1")             # inside a unit, on its thread
"""

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from storage.database import Database, Kind

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", bound="Repository")


class OnTheLoop(RuntimeError):
    """A statement ran on the event loop's thread: a bug, refused before it can stall the loop."""


class Repository:
    """Statements over one database; `clock` stamps what it stores (the app's clock, so that a
    test's scripted time and the core's agree)."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db, self._clock = db, clock


class Unit(Generic[R, P, T]):
    """A repository method as a unit of work: awaited, it runs on a database thread; `.now`
    runs its statements right here, inside another unit."""

    def __init__(self, method: Callable[Concatenate[R, P], T], kind: Kind) -> None:
        functools.update_wrapper(self, method)
        self._method, self.kind = method, kind
        self.name = method.__qualname__  # "Threads.for_client": how the unit is timed

    def __get__(self, repository: R | None, owner: type | None = None) -> Any:
        return self if repository is None else BoundUnit(self, repository)


class BoundUnit(Generic[P, T]):
    def __init__(self, unit: "Unit[Any, P, T]", repository: Repository) -> None:
        self._unit, self._repository = unit, repository
        self.name = unit.name

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T]:
        work = functools.partial(self._unit._method, self._repository, *args, **kwargs)
        return self._repository._db.run(self._unit.name, work, self._unit.kind)

    def now(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """The statements, on this thread: from within another unit of work."""
        return self._unit._method(self._repository, *args, **kwargs)


def reads(method: Callable[Concatenate[R, P], T]) -> Unit[R, P, T]:
    return Unit(method, "read")


def writes(method: Callable[Concatenate[R, P], T]) -> Unit[R, P, T]:
    return Unit(method, "write")


def durable(method: Callable[Concatenate[R, P], T]) -> Unit[R, P, T]:
    return Unit(method, "durable")


def not_on_the_loop() -> None:
    """Refuse a statement on a thread that runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise OnTheLoop("a database statement ran on the event loop's thread: make it a unit of work")
