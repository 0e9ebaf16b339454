"""How long an acknowledgement waits for the database. Slack wants an answer within 3 s, and
Chatra and Slack send again what is not answered: past `INTAKE_PATIENCE`, the request is
answered 503 at once (a lock held by a migration, a backup or another bridge, say) instead of
after the database's own timeout. What was being stored may still be stored: the request sent
again is then recognised by its key and stored once."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage import DatabaseUnavailable

INTAKE_PATIENCE = 0.8  # seconds


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
