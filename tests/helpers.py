"""What the tests share: the sandboxed app, Chatra's webhook bodies, waiting for effects."""

from bot.core.worker import Arrivals, Worker
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
    """A statement on the bridge's database (either kind), as an operator would run it."""
    db = open_database(settings.database(), migrate=False)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def worker_over(store: Store, handle, holder: str = "bridge-1", **options) -> Worker:
    """A worker on `store`'s inbox, trying again within a hundredth of a second."""
    options = {"rescan_interval": 1, "base_delay": 0.01, **options}
    return Worker(store.inbox, store.lanes, handle, Arrivals(), holder=holder, **options)
