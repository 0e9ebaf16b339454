"""What people did that changed something: one log line each (who, what, which chat) on the
`bot.audit` logger, and a count by action for the metrics."""

import logging
from collections.abc import Callable

log = logging.getLogger("bot.audit")


class Audit:
    def __init__(self, count: Callable[[str], None] = lambda action: None) -> None:
        self._count = count

    def record(self, user: str, action: str, chat: str | None = None, what: str = "") -> None:
        where = f" in chat {chat}" if chat else ""
        detail = f": {what}" if what else ""
        log.info("%s %s%s%s", user, action, where, detail, extra={"user": user, "action": action})
        self._count(action)
