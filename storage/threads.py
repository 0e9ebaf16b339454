"""Which Slack thread mirrors which Chatra client."""

from dataclasses import dataclass

from storage.states import ChatStatus
from storage.units import Repository, reads, writes

_COLUMNS = "id, client_id, channel, thread_ts, status, client, card, updated_at"


@dataclass(frozen=True)
class Thread:
    id: int
    client_id: str
    channel: str
    thread_ts: str
    status: ChatStatus
    client: str  # last known Chatra client JSON
    card: str  # JSON: what the visitor card shows besides the visitor (bot.core.slack_ui.card)
    updated_at: float  # the last Chatra event of this thread


class Threads(Repository):
    @reads
    def for_client(self, client_id: str) -> Thread | None:
        """The client's latest thread."""
        return self._one("client_id = ? ORDER BY id DESC", client_id)

    @reads
    def for_slack_thread(self, channel: str, thread_ts: str) -> Thread | None:
        return self._one("channel = ? AND thread_ts = ?", channel, thread_ts)

    @writes
    def add(
        self, client_id: str, channel: str, thread_ts: str, client: str, card: str = "{}"
    ) -> Thread:
        now = self._clock()
        row = {
            "client_id": client_id,
            "channel": channel,
            "thread_ts": thread_ts,
            "status": ChatStatus.OPEN,
            "client": client,
            "card": card,
            "created_at": now,
            "updated_at": now,
        }
        thread_id = self._db.execute(
            f"INSERT INTO threads ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
            " RETURNING id",
            list(row.values()),
        ).scalar()
        return Thread(thread_id, client_id, channel, thread_ts, ChatStatus.OPEN, client, card, now)

    @writes
    def update(self, thread_id: int, *, status: ChatStatus, client: str) -> None:
        values = {"status": status, "client": client, "updated_at": self._clock()}
        self._db.update("threads", "id", thread_id, values)

    @writes
    def set_card(self, thread_id: int, card: str) -> None:
        self._db.update("threads", "id", thread_id, {"card": card})

    @reads
    def by_id(self, thread_id: int) -> Thread | None:
        return self._one("id = ?", thread_id)

    @reads
    def open_ones(self, limit: int = 30) -> list[Thread]:
        """Open chats, the most recently active first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM threads WHERE status = '{ChatStatus.OPEN}'"
            " ORDER BY updated_at DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [_thread(row) for row in rows]

    @reads
    def client_with_email(self, email: str) -> str | None:
        """The client id of the latest thread whose visitor has this email."""
        return self._db.execute(
            f"SELECT client_id FROM threads WHERE lower({self._db.json_text('client', 'email')})"
            " = lower(?) ORDER BY id DESC LIMIT 1",
            [email],
        ).scalar()

    def _one(self, where: str, *values: str | int) -> Thread | None:
        found = self._db.execute(
            f"SELECT {_COLUMNS} FROM threads WHERE {where} LIMIT 1", values
        ).fetchone()
        return _thread(found) if found else None


def _thread(row: tuple) -> Thread:
    id_, client_id, channel, thread_ts, status, *rest = row
    return Thread(id_, client_id, channel, thread_ts, ChatStatus(status), *rest)
