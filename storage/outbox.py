"""What the bridge owes Slack, as rows: a chat's card to post (its thread has no ts yet) or to
draw again (`drawn` < `changes`), a Chatra message to show in its thread (pending), a notice
(`slack_posts` with a body and no ts). Written in the units that decide them; read and settled
by the poster of each channel."""

from dataclasses import dataclass, field

from storage.states import MessageState
from storage.threads import _COLUMNS as THREAD_COLUMNS
from storage.threads import Thread, _thread
from storage.units import Repository, reads, writes

MOST_READ = 200  # due messages read at a time, per channel: more wait for the next read


@dataclass(frozen=True)
class DueMessage:
    id: int
    thread_id: int
    key: str  # its Chatra id, or one of our making
    shown: str  # what the thread shows of it (JSON)
    at: float  # when it was recorded


@dataclass(frozen=True)
class DueNotice:
    key: str
    body: str  # the post (JSON)
    thread_id: int | None  # in a chat's thread, once its card is posted
    thread_ts: str | None  # in another thread; neither: in the channel
    at: float


@dataclass(frozen=True)
class Due:
    """Everything due in one channel, oldest first."""

    chats: dict[int, Thread] = field(default_factory=dict)  # by id: cards due, and threads of
    messages: list[DueMessage] = field(default_factory=list)  # the messages and notices below
    notices: list[DueNotice] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.messages or self.notices or self.cards or self.redraws)

    @property
    def cards(self) -> list[Thread]:
        return [chat for chat in self.chats.values() if chat.thread_ts is None]

    @property
    def redraws(self) -> list[Thread]:
        return [chat for chat in self.chats.values() if chat.thread_ts and chat.id in self._stale]

    _stale: frozenset[int] = frozenset()  # chats whose card shows fewer changes than there are


class Outbox(Repository):
    @writes
    def post(
        self,
        key: str,
        channel: str,
        body: str,
        *,
        thread_id: int | None = None,
        thread_ts: str | None = None,
    ) -> bool:
        """Owe Slack a post, once per key (False when it is owed or made already)."""
        return (
            self._db.execute(
                "INSERT INTO slack_posts (key, channel, thread_ts, thread_id, body, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING key",
                [key, channel, thread_ts, thread_id, body, self._clock()],
            ).scalar()
            is not None
        )

    @reads
    def due(self, channel: str) -> Due:
        """What `channel` is owed, oldest first. Its statements see the database each at its
        own moment: the threads are read first, so a card seen due has its messages seen too
        (a chat's thread and its first messages commit together); a thread that commits
        after that first read is read with its messages."""
        db = self._db
        chats: dict[int, Thread] = {}
        stale: set[int] = set()
        for row in db.execute(
            f"SELECT {THREAD_COLUMNS}, drawn < changes FROM threads"
            " WHERE channel = ? AND (thread_ts IS NULL OR drawn < changes) ORDER BY id",
            [channel],
        ):
            chats[row[0]] = _thread(row[:-1])
            if row[-1]:
                stale.add(row[0])
        rows = db.execute(
            "SELECT m.id, m.thread_id, m.chatra_id, m.shown, m.created_at FROM messages m"
            " JOIN threads t ON t.id = m.thread_id"
            " WHERE m.state = ? AND m.origin = 'chatra' AND t.channel = ? ORDER BY m.id LIMIT ?",
            [MessageState.PENDING, channel, MOST_READ],
        ).fetchall()
        messages = [DueMessage(*row) for row in rows]
        notices = [
            DueNotice(*row)
            for row in db.execute(
                "SELECT key, body, thread_id, thread_ts, created_at FROM slack_posts"
                " WHERE channel = ? AND body IS NOT NULL AND ts IS NULL"
                " ORDER BY created_at, key LIMIT ?",
                [channel, MOST_READ],
            )
        ]
        wanted = {m.thread_id for m in messages} | {n.thread_id for n in notices if n.thread_id}
        others = sorted(wanted - chats.keys())
        if others:
            marks = ", ".join("?" * len(others))
            for row in db.execute(
                f"SELECT {THREAD_COLUMNS} FROM threads WHERE id IN ({marks})", others
            ):
                chats[row[0]] = _thread(row)
        return Due(chats, messages, notices, frozenset(stale))

    @reads
    def channels(self) -> list[str]:
        """The channels that are owed something."""
        rows = self._db.execute(
            "SELECT channel FROM threads WHERE thread_ts IS NULL OR drawn < changes"
            " UNION SELECT t.channel FROM messages m JOIN threads t ON t.id = m.thread_id"
            " WHERE m.state = ? AND m.origin = 'chatra'"
            " UNION SELECT channel FROM slack_posts WHERE body IS NOT NULL AND ts IS NULL",
            [MessageState.PENDING],
        ).fetchall()
        return sorted(channel for (channel,) in rows)

    @reads
    def owed(self) -> int:
        """How many posts (cards, messages, notices) and redraws are owed, in all."""
        return self._db.execute(
            "SELECT (SELECT count(*) FROM threads WHERE thread_ts IS NULL OR drawn < changes)"
            " + (SELECT count(*) FROM messages WHERE state = ? AND origin = 'chatra')"
            " + (SELECT count(*) FROM slack_posts WHERE body IS NOT NULL AND ts IS NULL)",
            [MessageState.PENDING],
        ).scalar()

    @writes
    def made(self, key: str, channel: str, ts: str, thread_ts: str | None) -> None:
        """A notice is on Slack (in `channel`: a DM's own D… id for one posted to a person), or
        (`ts` empty) never will be: Slack refused it for good."""
        self._db.execute(
            "UPDATE slack_posts SET ts = ?, channel = ?, thread_ts = ?, body = NULL WHERE key = ?",
            [ts, channel, thread_ts, key],
        )
