"""Each keyed Slack post appears once, across retries, lost answers and crashes.

Every post carries its keys in Slack message metadata. When a try ends in doubt (a crash, a
dropped connection, a 5xx after Slack may have posted), the next try first looks for a message
with that key in the channel or thread and adopts it. How a later try knows it is in doubt: a
Chatra message's post is in doubt when its event is carried out again (it was stored before this
process started, or tried before), so it needs no write before the call; any other post (a card,
a notice, an escalation) stores its intent, on disk, before Slack is called. Posts wait for
their channel's slot in a PostQueue, where a thread's waiting Chatra messages may join into one
post, or be appended to the thread's last one: each key is recorded with the post's ts.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, Protocol
from weakref import WeakValueDictionary

from bot.core.engine.worker import Judge
from bot.core.posting.batches import Queued, Then
from bot.core.posting.pace import PaceMaker
from bot.core.posting.post_queue import PostQueue
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.views import joined_messages
from storage import Store


async def _told_nothing(key: str) -> None:
    """Whatever waits is waited for, unreported."""


MADE_KEPT = 5000  # keyed posts remembered as made


class Posted(NamedTuple):
    channel: str  # where Slack put it: a DM posted to a user id is at the DM's own D… id
    ts: str


class SlackPoster(Protocol):
    async def post(
        self,
        channel: str,
        message: SlackMessage,
        thread_ts: str | None = None,
        keys: tuple[str, ...] = (),
    ) -> Posted: ...

    async def find_posted(
        self, channel: str, thread_ts: str | None, keys: list[str], since: float
    ) -> dict[str, str]: ...

    async def update(
        self, channel: str, ts: str, message: SlackMessage, keys: tuple[str, ...] = ()
    ) -> None: ...


class SlackDelivery:
    def __init__(
        self,
        slack: SlackPoster,
        store: Store,
        pace: PaceMaker,
        *,
        burst: int = 4,
        per_second: float = 1.0,
        judge: Judge = lambda error: None,
        waited: Callable[[str], Awaitable[None]] = _told_nothing,
        updates_per_minute: float = 30.0,
    ) -> None:
        """Posts are paced per channel a little under Slack's limit (about 1 per second with
        short bursts), so a burst of chats waits here instead of earning a storm of 429s;
        appends by `chat.update` take at most `updates_per_minute` of the workspace's 50.
        `pace` keeps the budgets, in the database. Nothing more is appended to a post once a
        person wrote below it (through another bridge, maybe)."""
        self._slack = slack
        self._written_below = store.messages.written_below
        self._db, self._posts = store.db, store.posts
        updates = max(1, round(updates_per_minute / 12))  # a burst of 5 seconds' worth
        self._queue = PostQueue(
            self._deliver,
            pace=lambda channel: pace(f"channel:{channel}", burst, per_second),
            judge=judge,
            waited=waited,
            append=self._append,
            updates=pace("chat.update", updates, updates_per_minute / 60),
        )
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        # key -> ts of keyed posts known to be made: a post once made stays made, so a notice
        # said once per thread and person (whom they write as, say) costs no read after that
        self._made: OrderedDict[str, str] = OrderedDict()
        self._on_the_way: dict[str, SlackMessage] = {}  # key -> its post, not yet queued

    @property
    def waiting(self) -> int:
        """Posts waiting for their channel's slot."""
        return self._queue.waiting

    @property
    def held(self) -> int:
        """Posts waiting out a failure (Slack down, say)."""
        return self._queue.held

    async def post(
        self,
        key: str,
        channel: str,
        message: SlackMessage,
        thread_ts: str | None = None,
        *,
        may_move: bool = False,
    ) -> str:
        """Post `message` unless the post for `key` already exists; returns its ts either way.
        `may_move`: a channel that refuses the bot raises ChannelRefused, for the caller to post
        elsewhere, instead of the post waiting for an admin to mend the channel."""
        if key in self._made:
            return self._made[key]
        lock = self._locks.setdefault(key, asyncio.Lock())  # two tasks, one key: one post
        async with lock:
            self._on_the_way[key] = message
            try:
                record = await self._posts.get(key)
            finally:
                message = self._on_the_way.pop(key)  # as revised meanwhile
            if record is not None and record.ts:
                ts = record.ts
            else:
                in_doubt = record is not None  # an earlier try stored its intent: did it post?
                ts = await self._queue.submit(
                    key, channel, message, thread_ts, in_doubt=in_doubt, may_move=may_move
                )
        self._made[key] = ts
        while len(self._made) > MADE_KEPT:
            self._made.popitem(last=False)
        return ts

    def revise(self, key: str, channel: str, message: SlackMessage) -> bool:
        """A post not yet made shows `message` instead: True while it is on its way to the
        queue or waits there for its slot (see PostQueue.revise). Only for a post that cannot
        be on Slack already (no earlier try)."""
        if key in self._on_the_way:
            self._on_the_way[key] = message
            return True
        return self._queue.revise(channel, key, message)

    def mirror(
        self,
        key: str,
        channel: str,
        thread_ts: str,
        message: SlackMessage,
        at: float,
        *,
        in_doubt: bool,
        then: Then | None = None,
    ) -> asyncio.Future[str]:
        """A Chatra message's post in its thread (written at `at`): it may go out joined with
        others of the thread that wait for the same slot. The future gives its ts. `in_doubt`:
        its event is carried out again, so Slack may show it already. `then`: statements run
        with the post's ts in the unit of work that records it."""
        return self._queue.submit(key, channel, message, thread_ts, at, in_doubt, then=then)

    def moved_on(self, channel: str, thread_ts: str) -> None:
        """A person wrote in the thread: what comes next is posted below it, not appended."""
        self._queue.moved_on(channel, thread_ts)

    def close(self) -> None:
        self._queue.close()

    async def _deliver(self, channel: str, batch: list[Queued]) -> dict[str, str]:
        """Post what of `batch` is not on Slack yet (joined when more than one); each key's ts."""
        found = await self._on_slack_already(channel, batch)
        rest = [item for item in batch if item.key not in found]
        intents = [item.key for item in rest if item.at is None]  # not a Chatra message's
        await self._record(channel, batch, found, intents)
        if not rest:
            return found
        message = rest[0].message if len(rest) == 1 else _joined(rest)
        keys = tuple(item.key for item in rest)
        made = await self._slack.post(channel, message, rest[0].thread_ts, keys=keys)
        posted = dict.fromkeys(keys, made.ts)
        await self._record(made.channel, rest, posted)
        return found | posted

    async def _append(
        self, channel: str, ts: str, shown: list[Queued], batch: list[Queued]
    ) -> dict[str, str]:
        """Redraw the post at `ts` (showing `shown`) with `batch` added below; each key's ts."""
        if await self._written_below(channel, batch[0].thread_ts or "", ts):
            raise LookupError("someone wrote below it")  # the batch goes as a post of its own
        found = await self._on_slack_already(channel, batch)
        await self._record(channel, batch, found)
        rest = [item for item in batch if item.key not in found]
        if not rest:
            return found
        every = [*shown, *rest]
        message = _joined(every)
        await self._slack.update(channel, ts, message, keys=tuple(item.key for item in every))
        posted = dict.fromkeys((item.key for item in rest), ts)
        await self._record(channel, rest, posted)
        return found | posted

    async def _on_slack_already(self, channel: str, batch: list[Queued]) -> dict[str, str]:
        """The ts of each key of `batch` that Slack already shows: only a try in doubt is
        looked for (what is not in doubt was surely not posted: a Chatra message is marked
        posted with its post, in one unit)."""
        doubtful = [item.key for item in batch if item.in_doubt]
        if not doubtful:
            return {}
        records = await self._posts.get_many(doubtful)
        posted = {key: record.ts for key, record in records.items() if record.ts}
        in_doubt = {  # key -> since when it may be on Slack
            key: records[key].created_at if key in records else 0.0
            for key in doubtful
            if key not in posted
        }
        if in_doubt and not is_person(channel):  # a DM cannot be read back: posted again
            since = min(in_doubt.values())
            thread_ts = batch[0].thread_ts
            posted |= await self._slack.find_posted(channel, thread_ts, list(in_doubt), since)
        return posted

    async def _record(
        self,
        channel: str,
        items: list[Queued],
        posted: dict[str, str],
        intents: Sequence[str] = (),
    ) -> None:
        """One unit of work: the posts about to be made (their intent, on disk first), the ts of
        those made, and what each made post's item does then (a Chatra message is marked
        posted)."""
        if not posted and not intents:
            return
        thread_ts = items[0].thread_ts

        def record() -> None:
            self._posts.intend.now(list(intents), channel, thread_ts)
            for ts in dict.fromkeys(posted.values()):
                keys = [key for key, made in posted.items() if made == ts]
                self._posts.posted.now(keys, ts, channel, thread_ts)
            for item in items:
                if item.key in posted and item.then is not None:
                    item.then(posted[item.key])

        await self._db.run("SlackDelivery.record", record, "durable" if intents else "write")


def _joined(items: list[Queued]) -> SlackMessage:
    """Chatra messages as one post, each under its author and time."""
    return joined_messages([(item.message, item.at or 0.0) for item in items])


def is_person(channel: str) -> bool:
    """A user id: posting to it writes in the app's DM with them."""
    return channel.startswith(("U", "W"))
