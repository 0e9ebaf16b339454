"""Every message the bridge carried, in either direction: Chatra id <-> Slack ts, and its state."""

from dataclasses import dataclass

from storage.states import MessageState
from storage.units import Repository, durable, reads, writes

_COLUMNS = (
    "id, client_id, origin, chatra_id, slack_ts, text, sent_text, author, state, error, resends,"
    " edit_asked"
)


@dataclass(frozen=True)
class Message:
    id: int
    client_id: str
    origin: str  # "chatra" | "slack"
    chatra_id: str | None
    slack_ts: str | None
    text: str | None
    sent_text: str | None
    author: str | None
    state: str
    error: str | None
    resends: int = 0  # sent again after a try that ended in doubt: at most once
    edit_asked: str | None = None  # an edit naming teammates, waiting for its author's word


class Messages(Repository):
    @reads
    def by_slack_ts(self, slack_ts: str) -> Message | None:
        """The reply written in Slack at `slack_ts` (Chatra messages may share a post's ts)."""
        return self._one("origin = 'slack' AND slack_ts = ?", slack_ts)

    @reads
    def asking_since_before(self, cutoff: float) -> list[Message]:
        """Replies (or edits of them) whose author has been asked about their mentions since
        before `cutoff`."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE (state = 'asking' AND created_at < ?)"
            " OR (edit_asked IS NOT NULL AND edit_asked_at < ?) ORDER BY id",
            [cutoff, cutoff],
        ).fetchall()
        return [Message(*row) for row in rows]

    @reads
    def known_chatra_ids(self, chatra_ids: list[str]) -> set[str]:
        """Which of these Chatra messages were recorded before."""
        if not chatra_ids:
            return set()
        marks = ", ".join("?" * len(chatra_ids))
        rows = self._db.execute(
            f"SELECT chatra_id FROM messages WHERE chatra_id IN ({marks})", chatra_ids
        ).fetchall()
        return {chatra_id for (chatra_id,) in rows}

    @reads
    def derived_chatra_keys(self, client_id: str) -> list[str]:
        """The keys of our making (`auto:`) of the chat's Chatra messages, oldest first."""
        rows = self._db.execute(
            "SELECT chatra_id FROM messages WHERE client_id = ? AND origin = 'chatra'"
            " AND chatra_id LIKE 'auto:%' ORDER BY id",
            [client_id],
        ).fetchall()
        return [key for (key,) in rows]

    @writes
    def claim_chatra_messages(
        self, client_id: str, thread_id: int, messages: list[tuple[str, str, str]]
    ) -> list[str]:
        """Record the Chatra messages (key, text, what the thread shows of it) of a webhook, to
        be shown in the thread `thread_id`; the keys of those new here."""
        new = []
        for key, text, shown in messages:  # one statement each
            row = self._db.execute(
                "INSERT INTO messages (client_id, origin, chatra_id, text, state, created_at,"
                " thread_id, shown) VALUES (?, 'chatra', ?, ?, 'pending', ?, ?, ?)"
                " ON CONFLICT (chatra_id) DO NOTHING RETURNING chatra_id",
                [client_id, key, text, self._clock(), thread_id, shown],
            ).fetchone()
            new += [row[0]] if row else []
        return new

    @writes
    def shown_at(self, message_ids: list[int], ts: str) -> None:
        """Chatra messages are on Slack: the post at `ts` shows them (the first one of those a
        long message took)."""
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            self._db.execute(
                "UPDATE messages SET state = 'posted', slack_ts = ?, shown = NULL"
                f" WHERE id IN ({', '.join('?' * len(chunk))}) AND state = 'pending'",
                [ts, *chunk],
            )

    @writes
    def not_shown(self, message_id: int, why: str) -> None:
        """Slack refuses a Chatra message for good: it stays out of the thread, and says why."""
        self._db.execute(
            "UPDATE messages SET state = 'failed', error = ?, shown = NULL WHERE id = ?",
            [why, message_id],
        )

    @writes
    def claim_slack_reply(self, slack_ts: str, client_id: str, text: str, author: str) -> Message:
        """Record a Slack reply about to be sent; returns the existing record if any."""
        message = self._insert(
            client_id=client_id, origin="slack", slack_ts=slack_ts, text=text, author=author
        ) or self._one("origin = 'slack' AND slack_ts = ?", slack_ts)
        assert message is not None
        return message

    @reads
    def by_id(self, message_id: int) -> Message | None:
        return self._one("id = ?", message_id)

    @durable  # acknowledged with the echo's webhook
    def adopt_echo(self, client_id: str, key: str, text: str, ours: bool = False) -> bool:
        """Chatra echoed an agent message: if it is one of ours whose sending ended in doubt, or
        whose id we only know by a key of our own making, it did reach the visitor: record the
        echo's key, so it is neither sent again nor mirrored. The sender marks the reply sent
        once all of it is. An echo marked as `ours` that no reply claims yet (its sending mark
        lost to a power cut, say) is kept, for the reply to claim when it is tried again."""
        with self._db.transaction():
            if self._one("chatra_id = ?", key) is not None:
                return False
            row = self._db.execute(
                "SELECT id, chatra_id FROM messages WHERE client_id = ? AND origin = 'slack'"
                " AND sent_text = ? AND ((state = 'sending' AND chatra_id IS NULL)"
                " OR chatra_id LIKE 'auto:%') ORDER BY id LIMIT 1",
                [client_id, text],
            ).fetchone()
            if row is None and ours:
                self._insert(client_id=client_id, origin="chatra", chatra_id=key, text=text,
                             sent_text=text, state=MessageState.ECHOED)  # fmt: skip
            if row is None or (row[1] and key.startswith("auto:")):
                return row is not None
            self._db.execute("UPDATE messages SET chatra_id = ? WHERE id = ?", [key, row[0]])
        return True

    @durable
    def claim_echo(self, message_id: int) -> bool:
        """A reply whose sending is in doubt takes Chatra's echo of it, if one came first and
        was kept (`adopt_echo`); whether it did."""
        reply = self._one("id = ?", message_id)
        if reply is None or reply.sent_text is None:
            return False
        with self._db.transaction():
            echo = self._db.execute(
                "SELECT id, chatra_id FROM messages WHERE client_id = ? AND state = ?"
                " AND sent_text = ? ORDER BY id LIMIT 1",
                [reply.client_id, MessageState.ECHOED, reply.sent_text],
            ).fetchone()
            if echo is None:
                return False
            self._db.execute("DELETE FROM messages WHERE id = ?", [echo[0]])
            self._db.execute(
                "UPDATE messages SET chatra_id = ? WHERE id = ?", [echo[1], message_id]
            )
        return True

    @reads
    def sent_with_text(self, client_id: str, text: str) -> bool:
        """Whether the bridge sent (or is sending) exactly `text` to this visitor."""
        row = self._db.execute(
            "SELECT 1 FROM messages WHERE client_id = ? AND origin = 'slack' AND sent_text = ?"
            " AND state IN ('sending', 'sent') LIMIT 1",
            [client_id, text],
        ).fetchone()
        return row is not None

    @reads
    def written_below(self, channel: str, thread_ts: str, ts: str) -> bool:
        """Whether someone wrote a reply in the thread after the post at `ts`."""
        row = self._db.execute(
            "SELECT 1 FROM messages m JOIN threads t ON t.client_id = m.client_id"
            " WHERE t.channel = ? AND t.thread_ts = ? AND m.origin = 'slack' AND m.slack_ts > ?"
            " LIMIT 1",
            [channel, thread_ts, ts],
        ).fetchone()
        return row is not None

    @reads
    def pieces(self, slack_ts: str) -> list[Message]:
        """A reply and the further messages it was split into for Chatra, in order."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE origin = 'slack'"
            " AND (slack_ts = ? OR slack_ts LIKE CAST(? AS TEXT) || '#%')"
            " ORDER BY id",
            [slack_ts, slack_ts],
        ).fetchall()
        return [Message(*row) for row in rows]

    @reads
    def held(self) -> list[Message]:
        """Replies held while Chatra is disconnected in Membrane, oldest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE state = 'held' ORDER BY id"
        ).fetchall()
        return [Message(*row) for row in rows]

    @reads
    def holding(self, client_id: str, message_id: int) -> tuple[bool, bool]:
        """Whether a reply of this chat before `message_id` is held, and whether any is."""
        before, held = self._db.execute(
            "SELECT MAX(CASE WHEN client_id = ? AND id < ? THEN 1 ELSE 0 END), COUNT(*)"
            " FROM messages WHERE state = 'held'",
            [client_id, message_id],
        ).fetchone() or (0, 0)
        return bool(before), bool(held)

    @reads
    def any_held(self) -> bool:
        return self._db.execute("SELECT 1 FROM messages WHERE state = 'held' LIMIT 1").rows != []

    @writes
    def mark_sent(self, message_id: int) -> tuple[bool, str | None]:
        """A reply is sent: whether it was not before, and its author."""
        row = self._db.execute(
            "UPDATE messages SET state = 'sent' WHERE id = ? AND state <> 'sent' RETURNING author",
            [message_id],
        ).fetchone()
        return row is not None, row[0] if row else None

    @writes
    def ask_edit(self, message_id: int, text: str) -> None:
        """An edit waits for its author's word (it names teammates): `text`, as written."""
        values = {"edit_asked": text, "edit_asked_at": self._clock()}
        self._db.update("messages", "id", message_id, values)

    @writes
    def take_edit(self, message_id: int) -> str | None:
        """The edit that waited for its author's word, no longer waiting; None: none waits (an
        answer came first, or it was forgotten)."""
        with self._db.transaction():
            text = self._db.execute(
                f"SELECT edit_asked FROM messages WHERE id = ?{self._db.for_update}", [message_id]
            ).scalar()
            self._db.execute("UPDATE messages SET edit_asked = NULL WHERE id = ?", [message_id])
        return text

    @writes
    def update(self, message_id: int, **values: object) -> None:
        self._db.update("messages", "id", message_id, values)

    @durable
    def start_sending(self, message_id: int, text: str) -> None:
        """About to call Chatra: on disk first, so a crash leaves the send visibly in doubt."""
        self._db.execute(
            "UPDATE messages SET state = 'sending', sent_text = ? WHERE id = ?",
            [text, message_id],
        )

    @durable
    def resend(self, message_id: int) -> None:
        """About to send again after a try in doubt: counted on disk first."""
        self._db.execute("UPDATE messages SET resends = resends + 1 WHERE id = ?", [message_id])

    def _insert(self, **values: object) -> Message | None:
        """The new record; None when it was recorded already (by this bridge or another)."""
        row = {"state": "pending", **values, "created_at": self._clock()}
        inserted = self._db.execute(
            f"INSERT INTO messages ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
            f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
            list(row.values()),
        ).fetchone()
        return Message(*inserted) if inserted else None

    def _one(self, where: str, value: str | int) -> Message | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM messages WHERE {where}", [value]).fetchone()
        return Message(*row) if row else None
