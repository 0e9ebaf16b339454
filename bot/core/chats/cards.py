"""A chat's card in Slack, and what its buttons do: taken by someone, discussed internally, the
visitor edited, marked done (a button, or a check mark on it); every redraw shows what the card
keeps (earlier chat, on call, owner)."""

from bot.core.context import Context
from bot.core.people.access import Access
from bot.core.posting import post_keys
from bot.core.slack_ui.card import CardState, Chat
from bot.core.slack_ui.notices import internal_discussion, internal_discussion_link
from bot.core.slack_ui.views import thread_link, visitor_card
from bot.core.wire.chatra import ChatraClient
from storage import ChatStatus, Thread

DONE_MARKS = {"white_check_mark", "heavy_check_mark"}  # a reaction on a card: the chat is done


class Cards:
    def __init__(self, context: Context, access: Access) -> None:
        self._slack, self._delivery, self._access = context.slack, context.delivery, access
        store = context.store
        self._db, self._threads, self._waits = store.db, store.threads, store.waits
        self._figures, self._seen = store.figures, store.seen
        self._clock, self._audit = context.clock, context.audit
        self._dashboard = context.policy.dashboard_url

    def link(self, thread: Thread) -> str:
        return thread_link(thread.channel, thread.thread_ts, self._slack.workspace_url)

    async def claim(self, client_id: str, user: str, *, only_if_unowned: bool = False) -> bool:
        """`user` takes the chat: shown on its card; escalation then goes to them alone."""
        thread = await self._threads.for_client(client_id)
        if thread is None or not user:
            return False
        chat = Chat.of(thread)
        if chat.card.owner == user or (only_if_unowned and chat.card.owner):
            return False
        state = chat.card.model_copy(update={"owner": user})
        await self._threads.set_card(thread.id, state.model_dump_json())
        await self.redraw(thread, chat.visitor, closed=chat.closed, state=state)
        return True

    async def done(self, client_id: str, user: str, *, once: str | None = None) -> bool:
        """`user` marks the chat done: the card says who and when; nudges and escalation stop;
        open-chat lists leave it out. False when there is no open chat to mark. `once`: the
        key of what asked (a Slack event's id), carried out once whenever it comes again."""
        thread = await self._threads.for_client(client_id)
        chat = Chat.of(thread) if thread is not None else None
        if chat is None or chat.closed or chat.done:
            return False
        state = chat.card.marked_done(user, self._clock())
        if not await self._mark(chat, ChatStatus.DONE, state, once):
            return False
        self._audit.record(user, "chat_done", client_id)
        return True

    async def reopen(
        self, client_id: str, why: str, *, by: str | None = None, once: str | None = None
    ) -> bool:
        """The chat is open again after it was done (`why`, as the card says it); the on-call
        rules apply again from the visitor's next message."""
        thread = await self._threads.for_client(client_id)
        chat = Chat.of(thread) if thread is not None else None
        if chat is None or not chat.done:
            return False
        if not await self._mark(chat, ChatStatus.OPEN, chat.card.reopened_because(why), once):
            return False
        if by:
            self._audit.record(by, "chat_reopened", client_id)
        return True

    async def unmarked(self, client_id: str, user: str, *, once: str | None = None) -> bool:
        """`user` took their check mark off the chat's card: open again, unless a teammate's
        mark stays on it."""
        thread = await self._threads.for_client(client_id)
        if thread is None:
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

    async def _mark(
        self, chat: Chat, status: ChatStatus, state: CardState, once: str | None = None
    ) -> bool:
        """False when what asked (`once`) was carried out before."""
        thread = chat.thread

        def record() -> bool:
            if once is not None and not self._seen.first_time.now(once):
                return False
            self._threads.set_card.now(thread.id, state.model_dump_json())
            self._threads.update.now(thread.id, status=status, client=thread.client)
            if status == ChatStatus.DONE:  # nobody is waiting any more: no nudge, no escalation
                self._waits.answered.now(thread.id)
            self._figures.ended.now(thread.id, "done" if status == ChatStatus.DONE else None)
            return True

        if not await self._db.run("Cards.mark", record, "write"):
            return False
        await self.redraw(thread, chat.visitor, closed=False, state=state)
        return True

    async def discuss_internally(self, client_id: str) -> str | None:
        """Open (once per chat thread) a thread of the team's own about the chat; its link."""
        thread = await self._threads.for_client(client_id)
        if thread is None:
            return None
        opened = internal_discussion(Chat.of(thread).name, self.link(thread))
        ts = await self._delivery.post(post_keys.internal(thread.id), thread.channel, opened)
        link = thread_link(thread.channel, ts, self._slack.workspace_url)
        notice = internal_discussion_link(link)
        key = post_keys.internal_link(thread.id)
        await self._delivery.post(key, thread.channel, notice, thread.thread_ts)
        return link

    async def visitor_changed(self, client_id: str, details: dict[str, object]) -> None:
        """The visitor was edited from Slack: redraw their card in place."""
        thread = await self._threads.for_client(client_id)
        if thread is None:
            return
        chat = Chat.of(thread)
        changed = ChatraClient.model_validate({**details, "id": client_id}).contact()
        client = chat.visitor.with_contact(changed)
        await self.redraw(thread, client, closed=chat.closed)
        await self._threads.update(thread.id, status=thread.status, client=client.model_dump_json())

    async def redraw(
        self,
        thread: Thread,
        client: ChatraClient,
        *,
        closed: bool,
        summary: str | None = None,
        state: CardState | None = None,
    ) -> None:
        """Update the thread's card in place, with what its state keeps (earlier chat, on call,
        owner)."""
        state = CardState.of(thread.card) if state is None else state
        card = visitor_card(
            client, state, closed=closed, dashboard_url=self._dashboard, summary=summary
        )
        await self._slack.update(thread.channel, thread.thread_ts, card)
