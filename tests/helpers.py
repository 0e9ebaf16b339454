"""What the tests share: the sandboxed app, Chatra's webhook bodies, waiting for effects."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from bot.core.engine.arrivals import Arrivals
from bot.core.engine.worker import Worker
from bot.sandboxed import RunningApp
from sandbox.chatra import agent_says, chat_event, visitor_says
from sandbox.server import wait_for
from storage import Store, open_database

__all__ = [
    "RunningApp",
    "agent_says",
    "chat_event",
    "run_sql",
    "visitor_says",
    "wait_for",
    "worker_over",
]


def run_sql(settings, sql: str, params: tuple = ()) -> list[tuple]:
    """A statement on the bridge's database (either kind), as an operator would run it: from
    another thread (a process of its own, as it were), never the event loop's."""

    def operator() -> list[tuple]:
        db = open_database(settings.database(), migrate=False)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    with ThreadPoolExecutor(1) as elsewhere:
        return elsewhere.submit(operator).result()


@contextmanager
def another_process_holds(
    settings, tables: str = "inbox", *, changing: str | None = None
) -> Iterator[str]:
    """Another process (a migration, a backup, `chatra-bridge db`) holds the database: the file's
    write lock on SQLite, an exclusive lock on `tables` on PostgreSQL (or only the rows the
    statement `changing` changes); its dialect. Held from a thread of its own until the block
    ends."""
    taken, done = threading.Event(), threading.Event()
    dialect: list[str] = []

    def hold() -> None:
        db = open_database(settings.database(), migrate=False)
        try:
            with db.transaction():
                if db.dialect == "postgresql":
                    db.execute(changing or f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
                dialect.append(db.dialect)
                taken.set()
                done.wait()
        finally:
            db.close()

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(10)
    try:
        yield dialect[0]
    finally:
        done.set()
        holder.join()


def worker_over(store: Store, handle, holder: str = "bridge-1", **options) -> Worker:
    """A worker on `store`'s inbox carrying events out with `handle(event)` (the worker then
    records each done), trying again within a hundredth of a second."""
    options = {"rescan_interval": 1, "base_delay": 0.01, **options}

    async def carried_out(event, lease) -> bool:
        await handle(event)
        return False

    return Worker(store, carried_out, Arrivals(), holder=holder, **options)
