"""A chat's card in Slack, and what its buttons do: taken by someone, discussed internally, the
visitor edited, marked done (a button, or a check mark on it). Each is one unit of work that
changes the chat and makes its card due to be drawn again by its channel's poster."""

from collections.abc import Callable

from bot.core.chats.chat import CardState, Chat
from bot.core.context import Context
from bot.core.people.access import Access
from bot.core.posting import post_keys
from bot.core.slack_ui.ids import DONE_MARKS
from bot.core.slack_ui.notices import internal_discussion, internal_discussion_link
from bot.core.slack_ui.views import thread_link
from bot.core.wire.chatra import ChatraClient
from storage import ChatStatus, Thread


class Cards:
    def __init__(self, context: Context, access: Access) -> None:
        self._slack, self._posts, self._access = context.slack, context.posts, access
        self._store = store = context.store
        self._db, self._threads = store.db, store.threads
        self._clock, self._audit = context.clock, context.audit

    def link(self, thread: Thread) -> str:
        assert thread.thread_ts is not None
        return thread_link(thread.channel, thread.thread_ts, self._slack.workspace_url)

    async def claim(self, client_id: str, user: str, *, only_if_unowned: bool = False) -> bool:
        """`user` takes the chat: shown on its card; escalation then goes to them alone."""
        if not user:
            return False

        def take(chat: Chat) -> CardState | None:
            if chat.card.owner == user or (only_if_unowned and chat.card.owner):
                return None
            return chat.card.model_copy(update={"owner": user})

        return await self._change(client_id, take)

    async def done(self, client_id: str, user: str, *, once: str | None = None) -> bool:
        """`user` marks the chat done: the card says who and when; nudges and escalation stop;
        open-chat lists leave it out. False when there is no open chat to mark. `once`: the
        key of what asked (a Slack event's id), carried out once whenever it comes again."""

        def mark(chat: Chat) -> CardState | None:
            if chat.closed or chat.done:
                return None
            return chat.card.marked_done(user, self._clock())

        if not await self._change(client_id, mark, ChatStatus.DONE, once):
            return False
        self._audit.record(user, "chat_done", client_id)
        return True

    async def reopen(
        self, client_id: str, why: str, *, by: str | None = None, once: str | None = None
    ) -> bool:
        """The chat is open again after it was done (`why`, as the card says it); the on-call
        rules apply again from the visitor's next message."""

        def open_again(chat: Chat) -> CardState | None:
            return chat.card.reopened_because(why) if chat.done else None

        if not await self._change(client_id, open_again, ChatStatus.OPEN, once):
            return False
        if by:
            self._audit.record(by, "chat_reopened", client_id)
        return True

    async def unmarked(self, client_id: str, user: str, *, once: str | None = None) -> bool:
        """`user` took their check mark off the chat's card: open again, unless a teammate's
        mark stays on it."""
        thread = await self._threads.for_client(client_id)
        if thread is None or thread.thread_ts is None:
            return False
        reacted = await self._slack.reacted(thread.channel, thread.thread_ts)
        others = set().union(*(reacted.get(mark, set()) for mark in DONE_MARKS))
        for other in others - {user, self._slack.bot_user_id}:
            if await self._access.refusal(other) is None:
                return False  # still marked done by someone of the team
        return await self.reopen(client_id, f"by <@{user}>", by=user, once=once)

    async def client_of_card(self, channel: str, ts: str) -> str | None:
        """The chat whose card is the message at (channel, ts); None for any other message."""
        thread = await self._threads.for_slack_thread(channel, ts)
        return thread.client_id if thread is not None else None

    async def _change(
        self,
        client_id: str,
        change: Callable[[Chat], CardState | None],
        status: ChatStatus | None = None,
        once: str | None = None,
    ) -> bool:
        """One unit: the chat's card state as `change` makes it (None: nothing to change), and
        its `status`; its card due to be drawn again. False when nothing changed, or what
        asked (`once`) was carried out before."""
        store = self._store

        def record() -> str | None:
            thread = store.threads.for_client.now(client_id, to_change=True)
            state = change(Chat.of(thread)) if thread is not None else None
            if thread is None or state is None:
                return None
            if once is not None and not store.seen.first_time.now(once):
                return None
            values: dict[str, object] = {"card": state.model_dump_json()}
            if status is not None:
                values["status"] = status
                if status == ChatStatus.DONE:  # nobody is waiting any more: no nudge
                    store.waits.answered.now(thread.id)
                store.figures.ended.now(thread.id, "done" if status == ChatStatus.DONE else None)
            store.threads.change.now(thread.id, **values)
            return thread.channel

        channel = await self._db.run("Cards.change", record, "write")
        if channel is not None:
            self._posts.wake(channel)
        return channel is not None

    async def discuss_internally(self, client_id: str) -> str | None:
        """Open (once per chat thread) a thread of the team's own about the chat; its link."""
        thread = await self._threads.for_client(client_id)
        if thread is None or thread.thread_ts is None:
            return None
        opened = internal_discussion(Chat.of(thread).name, self.link(thread))
        key = post_keys.internal(thread.id)
        await self._posts.post(key, thread.channel, opened)
        ts = await self._posts.posted(key)
        if ts is None:
            return None
        link = thread_link(thread.channel, ts, self._slack.workspace_url)
        notice = internal_discussion_link(link)
        await self._posts.post(
            post_keys.internal_link(thread.id), thread.channel, notice, thread=thread
        )
        return link

    async def visitor_changed(self, client_id: str, details: dict[str, object]) -> None:
        """The visitor was edited from Slack: their card is drawn again."""
        changed = ChatraClient.model_validate({**details, "id": client_id}).contact()
        store = self._store

        def record() -> str | None:
            thread = store.threads.for_client.now(client_id, to_change=True)
            if thread is None:
                return None
            client = Chat.of(thread).visitor.with_contact(changed)
            store.threads.change.now(thread.id, client=client.model_dump_json())
            return thread.channel

        channel = await self._db.run("Cards.visitor_changed", record, "write")
        if channel is not None:
            self._posts.wake(channel)
