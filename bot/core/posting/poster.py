"""The poster of one channel: it drains what the channel is owed (`storage.outbox`) into Slack,
a post at a time at Slack's pace, threads taking fair turns, and records each post's ts in one
unit of work with everything the post shows.

One bridge posts to a channel at a time: the poster holds the channel's lease, checked before
each post and with each record. What it keeps in memory only makes turns fair and appends
possible. A post that ended without an answer (a dropped connection, a 5xx), and everything
that was due when the poster began (the bridge before it may have died mid-post), is in doubt:
looked for on Slack by the keys in its metadata (every message a post shows) before anything
of its thread is posted again."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.chats.chat import CardState, OpeningLine
from bot.core.engine.backoff import WORK
from bot.core.engine.lanes import LeaseLost
from bot.core.engine.patience import however_long
from bot.core.engine.worker import Judge
from bot.core.errors import ChannelRefused, DatabaseError, SlackRefused
from bot.core.posting import post_keys
from bot.core.posting.batches import CardMaker, Post, next_posts, onto, onto_card
from bot.core.posting.found import read_found, turn_keys
from bot.core.posting.pace import Budget
from bot.core.posting.refused import move_card, never_shown
from bot.core.posting.turns import LastPost, Turns
from bot.core.slack_ui.blocks import SlackMessage
from storage import Store, Thread
from storage.outbox import Due

if TYPE_CHECKING:  # the port is above this room; its type alone is named here
    from bot.core.ports import Posted, SlackPort

log = logging.getLogger(__name__)
IDLE = 2.0  # seconds a poster with nothing to post keeps its lease before letting go


@dataclass(frozen=True)
class Setup:
    """What every poster shares."""

    store: Store
    slack: "SlackPort"
    holder: str  # this bridge, as leases name it
    lease: float  # seconds a channel's lease runs
    updates: Budget  # the workspace's chat.update budget (appends, redraws)
    burst: int  # a channel's budget
    per_second: float
    support: str  # where a card goes when its queue's channel refuses the bot
    card_for: CardMaker
    redraw: Callable[..., SlackMessage]  # a chat's card as its thread says now
    judge: Judge
    waited: Callable[[str], Awaitable[None]]  # told of each post waiting out a failure
    clock: Callable[[], float] = time.time
    idle: float = IDLE  # seconds a poster owed nothing keeps its lease


@dataclass(frozen=True)
class _Made:
    """A post as Slack put it (an append: the post it was appended to)."""

    channel: str
    ts: str


def lane_of(channel: str) -> str:
    return f"post:{channel}"


def is_person(channel: str) -> bool:
    """A user id: posting to it writes in the app's DM with them."""
    return channel.startswith(("U", "W"))


class Poster:
    def __init__(self, channel: str, setup: Setup, wake: Callable[[str], None]) -> None:
        self.channel, self._setup, self._wake_other = channel, setup, wake
        self._lane, self._bucket = lane_of(channel), f"channel:{channel}"
        self._woken = asyncio.Event()
        self._budget: Budget | None = None
        self._behind = False  # the channel had to wait for a slot: waiting messages join
        self._turns = Turns()
        self._doubt_all = False  # everything due when the poster began
        self._made: dict[int, list[str]] = {}  # message id -> ts of its posts made so far
        # chat -> the changes its card was drawn with: recorded with the next post, or as the
        # poster lets go (lost, the card is drawn once more)
        self._drawn: dict[int, int] = {}
        self.in_flight = False

    def wake(self) -> None:
        self._woken.set()

    async def run(self) -> None:
        """Post what the channel is owed until it is owed nothing; then let go of its lease.
        Returns at once when another bridge holds it."""
        store, setup = self._setup.store, self._setup
        claimed = await store.lanes.hold(self._lane, setup.holder, setup.lease)
        if claimed is None:
            return
        self._doubt_all = claimed.taken_over  # its holder may have died mid-post
        self._budget = Budget.of(
            setup.burst, setup.per_second, await store.pacing.stored(self._bucket)
        )
        try:
            while True:
                try:
                    if not await self._round():
                        return
                except DatabaseError as error:  # locked or gone: waited out
                    log.warning("posting to %s waits for the database: %s", self.channel, error)
                    await self._nap(WORK.delay(2))
        except LeaseLost:
            log.warning("posting to %s was taken over by another bridge: stopping", self.channel)
        except asyncio.CancelledError:  # stopping: whoever posts next looks for a post cut off
            with contextlib.suppress(Exception):
                lanes = [self._lane]
                await store.lanes.release(setup.holder, lanes, half_done=self.in_flight)
            raise

    async def _round(self) -> bool:
        """One thing done (see `_step`), the lease renewed when it runs short, or, owed
        nothing a while, the lease given up; False then."""
        store, setup = self._setup.store, self._setup
        self._woken.clear()
        due, left = await store.db.run("Poster.due", self._due, "read")
        if left < setup.lease / 2:  # longer than any call to Slack takes: renewed
            if await store.lanes.hold(self._lane, setup.holder, setup.lease) is None:
                raise LeaseLost(self._lane)
        elif due:
            await self._step(due)
        elif not await self._nap(setup.idle):
            return not await self._let_go()
        return True

    async def _let_go(self) -> bool:
        """Give the lease up (what was drawn recorded with it); False when something came
        meanwhile (keep posting)."""
        store = self._setup.store

        def let_go() -> None:
            self._record_drawn()
            store.lanes.release.now(self._setup.holder, [self._lane])

        await store.db.run("Poster.let_go", let_go, "write")
        return not self._woken.is_set()

    def _card_posted(
        self,
        chat: Thread,
        channel: str,
        ts: str,
        opening: list[OpeningLine],
        drawn: int | None = None,
    ) -> None:
        """On the database's thread: a chat's card is on Slack, opening with `opening`, showing
        the chat as `chat` was (`drawn`: its changes, by default) - what changed since is drawn
        again. The thread is read again, locked: a change meanwhile is kept."""
        threads = self._setup.store.threads
        now = threads.by_id.now(chat.id, to_change=True) or chat
        card = CardState.of(now.card).model_copy(update={"opening": opening})
        changes = chat.changes if drawn is None else drawn
        threads.posted.now(chat.id, channel, ts, card.model_dump_json(), changes)

    def _record_drawn(self) -> None:
        """On the database's thread: the redraws made since the last record."""
        for chat_id, changes in self._drawn.items():
            self._setup.store.threads.drawn.now(chat_id, changes)
        self._drawn.clear()

    async def _nap(self, longest: float) -> bool:
        """Until woken (True) or `longest` seconds pass."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(longest):
                await self._woken.wait()
                return True
        return False

    def _due(self) -> tuple[Due, float]:
        """On the database's thread: what the channel is owed, and the seconds left of the
        lease (LeaseLost when another bridge holds it)."""
        setup = self._setup
        left = setup.store.lanes.left.now(self._lane, setup.holder)
        if left is None:
            raise LeaseLost(self._lane)
        return setup.store.outbox.due.now(self.channel), left

    def _holds(self) -> bool:
        """On the database's thread, in a unit that records what was done: whether the lease
        is still this poster's (renewed, then)."""
        setup = self._setup
        return setup.store.lanes.fence.now(self._lane, setup.holder, setup.lease)

    async def _step(self, due: Due) -> None:
        """One thing done: a redraw, a look for what is in doubt, an append or a post."""
        redraws = [c for c in due.redraws if self._drawn.get(c.id, -1) < c.changes]
        if redraws and self._setup.updates.has_capacity():
            await self._redraw(redraws[0])
            return
        budget = self._budget
        assert budget is not None
        if not budget.has_capacity():
            self._behind = True  # no slot now: what waits is joined
        posts = next_posts(due, self._made, behind=self._behind, card_for=self._setup.card_for)
        turns = self._turns
        turns.keep_only({post.turn for post in posts})
        if self._doubt_all:  # what was due when the poster began
            turns.doubt |= {post.turn for post in posts}
            self._doubt_all = False
        if not posts and self._drawn:  # nothing left but redraws to record
            await self._setup.store.db.run("Poster.drawn", self._record_drawn, "write")
            return
        ready = turns.ready(posts)
        if not ready:
            await self._nap(turns.next_ready_in(self._setup.idle))
            return
        post = turns.longest_waiting(ready)
        if post.turn in turns.doubt:
            await self._settle_doubt(due, post)
            return
        wait = budget.wait()
        if wait > 0:  # no slot yet: a thread's last post may take more meanwhile, or what
            if not await self._append(due, ready):  # comes joins the next post
                await self._nap(wait)
            return
        budget.take()
        await self._make(post)
        self._behind = False

    async def _make(self, post: Post) -> None:
        self._turns.slot(post.turn)
        setup = self._setup
        self.in_flight = True  # until recorded: a stop now leaves it in doubt
        try:
            made = await setup.slack.post(self.channel, post.message, post.thread_ts, post.keys)
        except ChannelRefused as refused:
            if post.card is not None and self.channel != setup.support:
                await move_card(setup.store, post.card, refused, setup.support, setup.clock)
                self._wake_other(setup.support)
            else:
                await self._failed(post, refused)
        except SlackRefused as refused:
            await never_shown(setup.store, self.channel, post, str(refused))
        except Exception as error:
            await self._failed(post, error)
        else:
            self._turns.succeeded(post.turn)
            await self._record(post, made)

    async def _record(self, post: Post, made: "Posted | _Made") -> None:
        """The post's ts, in one unit with everything it shows (however long the database
        refuses: given up, it would be posted again)."""
        pieces = [piece for piece in post.pieces if piece.n == piece.of - 1]  # messages done
        for piece in post.pieces:
            self._made.setdefault(piece.due.id, []).append(made.ts)
        store, budget = self._setup.store, self._budget
        assert budget is not None

        def record() -> bool:
            if not self._holds():
                return False  # the bridge that took over finds the post, and records it
            if post.card is not None:
                self._card_posted(post.card, made.channel, made.ts, post.opening)
            for piece in pieces:
                store.messages.shown_at.now([piece.due.id], self._made[piece.due.id][0])
            if post.notice is not None:
                store.outbox.made.now(post.notice.key, made.channel, made.ts, post.thread_ts)
            store.pacing.keep.now(self._bucket, budget.tokens, budget.at)
            self._record_drawn()
            return True

        if not await however_long(lambda: store.db.run("Poster.record", record, "write"), "a post"):
            raise LeaseLost(self._lane)
        self.in_flight = False
        if post.card is not None:
            client = post.card.client_id
            context = {"chat": client, "slack_ts": made.ts}
            log.info("chat %s mirrored into thread %s", client, made.ts, extra=context)
        for piece in pieces:
            self._made.pop(piece.due.id, None)
        if post.card or (post.joinable and post.thread_ts):
            self._turns.last[post.turn] = LastPost(made.ts, list(post.pieces), card=bool(post.card))
        else:
            self._turns.last.pop(post.turn, None)

    async def _append(self, due: Due, ready: list[Post]) -> bool:
        """Append a thread's waiting messages to its last post, or to its card's opening
        (chat.update, its own budget), while the channel has no slot; False when none can be."""
        setup = self._setup
        if not setup.updates.has_capacity():
            return False
        for post in ready:
            last = self._turns.last.get(post.turn)
            if last is None or not last.open() or not post.joinable:
                continue
            chat = due.chats[post.pieces[0].due.thread_id]
            appended = (
                onto_card(chat, post, self._setup.card_for) if last.card else onto(last.shown, post)
            )
            written = setup.store.messages.written_below
            if appended is None or await written(self.channel, chat.thread_ts or "", last.ts):
                self._turns.last.pop(post.turn, None)
                continue
            await setup.updates.acquire()
            every = [*last.shown, *appended.pieces]
            try:
                card = (post_keys.card(chat.id),) if last.card else ()
                keys = (*card, *(piece.key for piece in every))
                await setup.slack.update(self.channel, last.ts, appended.message, keys)
            except Exception as error:  # the batch goes as a post of its own, after a look
                self._turns.doubt.add(post.turn)
                self._turns.last.pop(post.turn, None)
                log.info("appending to %s/%s failed (%s)", self.channel, last.ts, error)
                return True
            await self._record(appended, _Made(self.channel, last.ts))
            self._turns.last[post.turn] = LastPost(last.ts, every, last.at, last.card)
            return True
        return False

    async def _redraw(self, chat: Thread) -> None:
        """Draw a chat's card again: what it shows changed (chat.update, its own budget)."""
        assert chat.thread_ts is not None
        await self._setup.updates.acquire()
        try:
            await self._setup.slack.update(self.channel, chat.thread_ts, self._setup.redraw(chat))
        except Exception as error:  # drawn at the next round (a deleted card: never)
            log.warning("the card of chat %s was not redrawn: %s", chat.client_id, error)
            if self._setup.judge(error) is not False:
                await self._nap(WORK.delay(1))
                return
        self._drawn[chat.id] = chat.changes

    async def _settle_doubt(self, due: Due, post: Post) -> None:
        """Look on Slack for what the turn's posts may have made (by their keys), and record
        what is there: it is not posted again."""
        setup, turn = self._setup, post.turn
        keys = [*post.keys, *turn_keys(due, turn)]
        since = min(setup.clock(), time.time()) - 3600  # a look back an hour in the channel
        try:  # a DM cannot be read back: what may be there is posted again
            found = (
                {}
                if is_person(self.channel)
                else await setup.slack.find_posted(self.channel, post.thread_ts, keys, since)
            )
        except Exception as error:
            await self._failed(post, error)
            return
        self._turns.doubt.discard(turn)
        if found:
            await self._adopt(due, post, found)

    async def _adopt(self, due: Due, post: Post, found: dict[str, str]) -> None:
        """Record what a look found on Slack, as if its posts had just been made."""
        store = self._setup.store
        read = read_found(due, post, found)
        self._made.update(read.made)

        def adopt() -> bool:
            if not self._holds():
                return False
            if read.chat is not None:
                self._card_posted(read.chat, self.channel, read.card_ts, read.opening, drawn=0)
            for message_id, ts in read.done:
                store.messages.shown_at.now([message_id], ts)
            for notice in due.notices:
                if notice.key in found:
                    thread_ts = notice.thread_ts or post.thread_ts
                    store.outbox.made.now(notice.key, self.channel, found[notice.key], thread_ts)
            return True

        if not await however_long(lambda: store.db.run("Poster.adopt", adopt, "write"), "a post"):
            raise LeaseLost(self._lane)

    async def _failed(self, post: Post, error: BaseException) -> None:
        """A try that failed: in doubt (it may be on Slack), and waited out, the turn keeping
        its place; what can never succeed is refused."""
        self._turns.doubt.add(post.turn)
        if self._setup.judge(error) is False and not isinstance(error, ChannelRefused):
            why = f"{type(error).__name__}: {error}"
            await never_shown(self._setup.store, self.channel, post, why)
            return
        delay = self._turns.failed(post.turn)
        log.warning("posting to %s failed (%s): again in %.1fs", self.channel, error, delay)
        for key in post.keys[:1] if post.card else post.keys:  # a card counts once
            await self._setup.waited(key)
