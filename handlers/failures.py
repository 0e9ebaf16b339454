"""What a Slack request that could not be carried out is answered: Bolt's own answer is a 500
and a traceback; a database that is locked or down (worth waiting out) gets a 503 and one line,
and Slack sends the request again."""

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.core.door import DatabaseUnavailable

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    async def answer_failure(error: Exception) -> BoltResponse | None:
        if isinstance(error, DatabaseUnavailable):
            log.warning("slack request not carried out, Slack sends it again: %s", error)
            return BoltResponse(status=503, body="", headers={"Retry-After": "5"})
        log.error("slack request failed: %s", error, exc_info=error)
        return None

    app.error(answer_failure)
