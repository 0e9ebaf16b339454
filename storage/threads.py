"""Which Slack thread mirrors which Chatra client: a chat, its card's state, and whether the card
on Slack shows it (posted, and drawn as it is now)."""

from dataclasses import dataclass

from storage.states import ChatStatus
from storage.units import Repository, reads, writes

_COLUMNS = "id, client_id, channel, thread_ts, status, client, card, updated_at, changes"


@dataclass(frozen=True)
class Thread:
    id: int
    client_id: str
    channel: str
    thread_ts: str | None  # None while the chat's card waits to be posted
    status: ChatStatus
    client: str  # last known Chatra client JSON
    card: str  # JSON: what the visitor card shows besides the visitor (bot.core.chats.chat)
    updated_at: float  # the last Chatra event of this thread
    changes: int = 0  # changes to what the card shows: it is drawn again while drawn is fewer


class Threads(Repository):
    @reads
    def for_client(self, client_id: str, *, to_change: bool = False) -> Thread | None:
        """The client's latest thread; `to_change`: locked until the unit commits, so that what
        is changed from it is not lost to another unit's change (PostgreSQL)."""
        return self._one("client_id = ? ORDER BY id DESC", client_id, to_change=to_change)

    @reads
    def earlier(self, client_id: str, most: int = 3) -> tuple[int, list[Thread]]:
        """How many threads the client has had, and the newest `most` of them (newest first):
        the chats a returning visitor had before."""
        count = self._db.execute(
            "SELECT count(*) FROM threads WHERE client_id = ?", [client_id]
        ).scalar()
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM threads WHERE client_id = ? ORDER BY id DESC LIMIT ?",
            [client_id, most],
        ).fetchall()
        return count, [_thread(row) for row in rows]

    @reads
    def for_slack_thread(self, channel: str, thread_ts: str) -> Thread | None:
        return self._one("channel = ? AND thread_ts = ?", channel, thread_ts)

    @writes
    def add(self, client_id: str, channel: str, client: str, card: str = "{}") -> Thread:
        """A new chat, its card to be posted in `channel`."""
        now = self._clock()
        row = {
            "client_id": client_id,
            "channel": channel,
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
        return Thread(thread_id, client_id, channel, None, ChatStatus.OPEN, client, card, now)

    @writes
    def touch(self, thread_id: int) -> None:
        """Something of the chat happened now (it is not idle)."""
        self._db.update("threads", "id", thread_id, {"updated_at": self._clock()})

    @writes
    def change(self, thread_id: int, **values: object) -> None:
        """What the card shows changed (`status`, `client`, `card`): drawn again on Slack."""
        columns = ", ".join(f"{column} = ?" for column in values)
        self._db.execute(
            f"UPDATE threads SET {columns}, updated_at = ?, changes = changes + 1 WHERE id = ?",
            [*values.values(), self._clock(), thread_id],
        )

    @writes
    def posted(self, thread_id: int, channel: str, thread_ts: str, card: str, drawn: int) -> None:
        """The chat's card is on Slack at (channel, thread_ts), showing change `drawn`."""
        self._db.update(
            "threads",
            "id",
            thread_id,
            {"channel": channel, "thread_ts": thread_ts, "card": card, "drawn": drawn},
        )

    @writes
    def move(self, thread_id: int, channel: str, card: str) -> None:
        """A chat's card, not posted yet, is to be posted in `channel` instead."""
        self._db.update("threads", "id", thread_id, {"channel": channel, "card": card})

    @writes
    def drawn(self, thread_id: int, changes: int) -> None:
        """The card on Slack shows the chat as it was at change `changes`."""
        self._db.execute(
            "UPDATE threads SET drawn = ? WHERE id = ? AND drawn < ?", [changes, thread_id, changes]
        )

    @reads
    def by_id(self, thread_id: int, *, to_change: bool = False) -> Thread | None:
        return self._one("id = ?", thread_id, to_change=to_change)

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

    def _one(self, where: str, *values: str | int, to_change: bool = False) -> Thread | None:
        lock = self._db.for_update if to_change else ""
        found = self._db.execute(
            f"SELECT {_COLUMNS} FROM threads WHERE {where} LIMIT 1{lock}", values
        ).fetchone()
        return _thread(found) if found else None


def _thread(row: tuple) -> Thread:
    id_, client_id, channel, thread_ts, status, *rest = row
    return Thread(id_, client_id, channel, thread_ts, ChatStatus(status), *rest)
