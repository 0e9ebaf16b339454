"""What bridges sharing a PostgreSQL database tell each other: events stored (LISTEN/NOTIFY),
and which of them leads (a session advisory lock), each on a connection of its own. Alone on
SQLite, a bridge hears nothing and always leads."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import psycopg

from storage.database import Database
from storage.postgres import PostgresDatabase, connect_async

log = logging.getLogger(__name__)
LEADER_LOCK = 0x43_42_4C_44  # "CBLD"


class Leadership:
    """Whether this bridge leads: runs what must run once for all (escalation timers, Chatra
    probes, reports to the channel). Alone on its database, it always does."""

    def __init__(self, db: Database, interval: float = 5.0) -> None:
        self._url = db.url if isinstance(db, PostgresDatabase) else None
        self._interval = interval
        self.leading = self._url is None

    async def rounds(self, interval: float) -> AsyncIterator[None]:
        """Every `interval` seconds, a round of what the leader does, while this bridge leads."""
        while True:
            await asyncio.sleep(interval)
            if self.leading:
                yield

    async def run(self) -> None:
        """Try for the lead every `interval` seconds and keep it while the connection lives.
        The lock goes with its connection: a bridge that dies, or is cut off, loses it, and
        another takes it within `interval` of the database noticing (at once for a closed
        connection, ~25 s for a silent one)."""
        if self._url is None:
            return
        while True:
            try:
                async with await connect_async(self._url) as conn:
                    await self._hold(conn)
            except (psycopg.Error, OSError, TimeoutError) as error:
                if self.leading:
                    log.warning("this bridge no longer leads (%s)", error)
                self.leading = False
            await asyncio.sleep(self._interval)

    async def _hold(self, conn: psycopg.AsyncConnection) -> None:
        while True:
            async with asyncio.timeout(self._interval):
                if self.leading:
                    await conn.execute("SELECT 1")  # still connected: the lock is still ours
                else:
                    cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", [LEADER_LOCK])
                    row = await cursor.fetchone()
                    if row and row[0]:
                        self.leading = True
                        log.info("this bridge leads now: escalation, probes and reports run here")
            await asyncio.sleep(self._interval)


async def listen(
    db: Database,
    channel: str,
    heard: Callable[[str | None], None],
    pause: Callable[[int], float],
) -> None:
    """Call `heard` with each payload notified on `channel`, and with None whenever some may
    have been missed (on (re)connecting); `pause(n)`: the seconds before connecting again
    after `n` failures in a row. Nothing to hear on SQLite."""
    if not isinstance(db, PostgresDatabase):
        return
    failures = 0
    while True:
        try:
            async with await connect_async(db.url) as conn:
                await conn.execute(f"LISTEN {channel}")
                heard(None)  # what was notified while nobody listened
                failures = 0
                async for note in conn.notifies():
                    heard(note.payload or None)
        except (psycopg.Error, OSError) as error:
            log.warning("not hearing of new events (%s): listening again", error)
        failures += 1
        await asyncio.sleep(pause(failures))
