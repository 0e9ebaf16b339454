"""Which Slack thread mirrors which Chatra client."""

import time
from dataclasses import dataclass

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError


@dataclass(frozen=True)
class Thread:
    client_id: str
    channel: str
    thread_ts: str
    status: str
    client: str  # last known Chatra client JSON


class Threads:
    def __init__(self, db: Database) -> None:
        self._db = db

    def for_client(self, client_id: str) -> Thread | None:
        try:
            row = self._db["threads"].get(client_id)
        except NotFoundError:
            return None
        return _thread(row)

    def for_slack_thread(self, channel: str, thread_ts: str) -> Thread | None:
        rows = list(
            self._db["threads"].rows_where(
                "channel = ? AND thread_ts = ?", [channel, thread_ts], limit=1
            )
        )
        return _thread(rows[0]) if rows else None

    def add(self, client_id: str, channel: str, thread_ts: str, client: str) -> Thread:
        now = time.time()
        row = {
            "client_id": client_id,
            "channel": channel,
            "thread_ts": thread_ts,
            "status": "open",
            "client": client,
            "created_at": now,
            "updated_at": now,
        }
        with self._db.conn:
            self._db["threads"].insert(row)
        return _thread(row)

    def update(self, client_id: str, *, status: str, client: str) -> None:
        with self._db.conn:
            self._db["threads"].update(
                client_id, {"status": status, "client": client, "updated_at": time.time()}
            )


def _thread(row: dict) -> Thread:
    return Thread(
        client_id=row["client_id"],
        channel=row["channel"],
        thread_ts=row["thread_ts"],
        status=row["status"],
        client=row["client"],
    )
