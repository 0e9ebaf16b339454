"""How long the bridge waits for the database.

An acknowledgement waits briefly. Slack wants an answer within 3 s, and
Chatra and Slack send again what is not answered: past `INTAKE_PATIENCE`, the request is
answered 503 at once (a lock held by a migration, a backup or another bridge, say) instead of
after the database's own timeout. What was being stored may still be stored: the request sent
again is then recognised by its key and stored once.

What records something already done outside (a reply Chatra took, an event carried out) waits
however long the database refuses: given up, it would be done again."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from bot.core.engine.backoff import RECORD
from storage import DatabaseUnavailable

INTAKE_PATIENCE = 0.8  # seconds
T = TypeVar("T")
log = logging.getLogger(__name__)


@asynccontextmanager
async def patiently(what: str) -> AsyncIterator[None]:
    """DatabaseUnavailable when what is inside takes longer than INTAKE_PATIENCE."""
    try:
        async with asyncio.timeout(INTAKE_PATIENCE):
            yield
    except TimeoutError:
        raise DatabaseUnavailable(
            f"{what}: the database is busy (no answer within {INTAKE_PATIENCE:g} s)"
        ) from None


async def however_long(record: Callable[[], Awaitable[T]], what: str) -> T:
    """`record`'s outcome, tried again (backing off up to 10 s) for as long as it fails."""
    failures = 0
    while True:
        try:
            return await record()
        except Exception as error:
            log.warning("cannot record %s (%s): trying again", what, error)
            failures += 1
            await asyncio.sleep(RECORD.delay(failures))
