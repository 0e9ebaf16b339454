"""Chatra -> Slack: a chat event becomes a thread (visitor card on top) and its messages replies.

Safe to run twice for the same event: a Chatra message id is posted once, ever.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable

from bot.core.chats.cards import Cards
from bot.core.chats.opening import author_and_time, opening
from bot.core.context import Context
from bot.core.errors import ChannelRefused
from bot.core.posting import post_keys
from bot.core.rules.routes import Route
from bot.core.slack_ui.card import CardState, OpeningLine
from bot.core.slack_ui.notices import (
    channel_refused_notice,
)
from bot.core.slack_ui.views import mirrored_messages, visitor_card
from bot.core.wire.chatra import DERIVED_KEY, ChatraClient, ChatraMessage, ChatraWebhook
from storage import Message, Thread
from storage.states import ChatStatus, MessageState

PENDING = MessageState.PENDING  # claimed, not yet on Slack

log = logging.getLogger(__name__)


class ChatToSlack:
    def __init__(self, context: Context) -> None:
        self._slack, self._delivery = context.slack, context.delivery
        self._on_call, self._clock, self._policy = context.on_call, context.clock, context.policy
        store = context.store
        self._db, self._threads, self._messages = store.db, store.threads, store.messages
        self._agents, self._waits, self._posts = store.agents, store.waits, store.posts
        self._remembered: set[tuple[object, ...]] = set()  # agents' details stored already
        self.cards = Cards(context)  # the card's redraws, and what its buttons do

    async def chat_event(
        self, webhook: ChatraWebhook, *, replay: bool = False
    ) -> asyncio.Future[None]:
        """Carry out a chat event up to its messages' posts, which wait in their channel's queue
        (joined with the thread's next ones under a backlog): the returned future ends when all
        are on Slack. The next event of the chat may start meanwhile: the queue keeps the order.
        A `replay` (an event tried before, maybe by a process that died) may have posted some
        already: Slack is asked before they are posted. Two units of work: what came, and what
        it changed (three when the card is redrawn: it is recorded once Slack shows it)."""
        closing, client = webhook.eventName == "chatTranscript", webhook.client
        agents = [a.model_dump(include={"id", "name", "email"}) for a in webhook.agents]
        agents = [a for a in agents if tuple(a.values()) not in self._remembered]
        ordered = webhook.messages_in_order()

        def receive() -> tuple[list[ChatraMessage], list[Message], Thread | None]:
            if agents:  # each agent as webhooks list them, once per change
                self._agents.remember.now(agents)
                self._remembered.update(tuple(a.values()) for a in agents)
            messages = [m for m in ordered if not self._is_ours(client.id, m)]
            claimed = self._messages.claim_chatra_messages.now(
                client.id, [(m.key, m.body) for m in messages]
            )  # all the webhook's messages reach the post queue at the same moment
            return messages, claimed, self._threads.for_client.now(client.id)

        messages, claimed, known = await self._db.run("ChatToSlack.receive", receive, "write")
        unposted = [(m, r) for m, r in zip(messages, claimed, strict=True) if r.state == PENDING]
        fresh = [message for message, _ in unposted]
        lines, whole = opening(unposted, webhook, self._clock)
        card = await self._new_card(client, known, lines, new_messages=bool(fresh))
        whole = whole if card else []  # the chat goes on in its thread: nothing in a card
        where = card[:2] if card else (known.channel, known.thread_ts)  # type: ignore[union-attr]
        in_card = {record.id for record in whole}
        posting = [
            self._mirror(*where, m, record, webhook, replay)
            for m, record in unposted
            if record.id not in in_card
        ]
        # What the card shows: the thread as recorded, or the new card as just posted.
        shown = (
            (known.status, known.client)  # type: ignore[union-attr]
            if card is None
            else (ChatStatus.OPEN, client.model_dump_json())
        )
        # Only new messages reopen a closed chat: a late chatStarted or fragment does not.
        status = ChatStatus.CLOSED if closing else ChatStatus.OPEN if fresh else shown[0]
        if status == ChatStatus.OPEN and shown[0] == ChatStatus.DONE:  # done: only the visitor
            visitor_wrote = any(m.type == "client" for m in fresh)  # writing opens it again
            status = ChatStatus.OPEN if visitor_wrote else ChatStatus.DONE
        reopened = reopened_card(known) if shown[0] != status == ChatStatus.OPEN else None
        # A webhook that leaves details out (a fragment, say) keeps those the card shows.
        merged = ChatraClient.model_validate_json(shown[1]).updated_by(client)
        client_json = merged.model_dump_json()
        redraw = (status, client_json) != shown
        steps = [m.type == "client" for m in fresh if m.type in ("client", "agent")]
        steps += [False] if closing else []  # a visitor's message starts a wait; an answer ends it

        def record(update: bool) -> Thread:
            thread = (
                known
                if card is None
                else self._threads.add.now(
                    client.id, card[0], card[1], client_json, card[2].model_dump_json()
                )
            )
            assert thread is not None
            for shown in whole:  # the card shows it: its post is the card
                self._messages.update.now(
                    shown.id, slack_ts=thread.thread_ts, state=MessageState.POSTED
                )
            if steps:
                self._waits.follow.now(thread.id, steps, self._clock())
            if reopened is not None:
                self._threads.set_card.now(thread.id, reopened.model_dump_json())
            if update:
                self._threads.update.now(thread.id, status=status, client=client_json)
            return thread

        updating = bool(fresh) or redraw
        thread = await self._db.run(
            "ChatToSlack.record", lambda: record(updating and not redraw), "write"
        )
        if redraw:  # recorded once Slack shows it: a redraw that fails is tried again
            summary = webhook.summary() if closing else None
            await self.cards.redraw(thread, merged, closed=closing, summary=summary, state=reopened)
            await self._threads.update(thread.id, status=status, client=client_json)
        return asyncio.ensure_future(asyncio.gather(*posting))

    def _is_ours(self, client_id: str, message: ChatraMessage) -> bool:
        """On the database's thread: Chatra's echo of a message the bridge sent, marked with
        our `receivedFrom`, or its id or very text that of a reply we sent to this visitor."""
        if message.type != "agent":
            return False
        if message.receivedFrom == self._policy.received_from:
            return True
        if self._messages.adopt_echo.now(client_id, message.key, message.body):
            return True
        derived = message.key.startswith(DERIVED_KEY)
        return derived and self._messages.sent_with_text.now(client_id, message.body)

    async def _new_card(
        self,
        client: ChatraClient,
        thread: Thread | None,
        lines: list[OpeningLine],
        *,
        new_messages: bool,
    ) -> tuple[str, str, CardState] | None:
        """A new chat's card, opening with `lines`, posted (its channel, ts and state): for a
        visitor with no thread, or whose closed chat comes back to life after the idle gap with
        new messages (linking back); None when the chat goes on in its thread."""
        came_back = (
            thread is not None
            and thread.status == ChatStatus.CLOSED
            and new_messages
            and self._policy.idle_gap > 0
            and self._clock() - thread.updated_at > self._policy.idle_gap
        )
        if thread is not None and not came_back:
            return None
        after_hours = self._after_hours()
        routes = self._policy.routes
        route = routes.route(client, after_hours=after_hours is not None)
        state = CardState(
            previous=self.cards.link(thread) if thread else None,
            on_call=await self._on_call.people(),
            after_hours=after_hours,
            queue=routes.queue(route),
            opening=lines,
        )
        key = post_keys.card(client.id, thread.thread_ts if thread else None)
        channel, ts = await self._post_card(key, client, state, route)
        context = {"chat": client.id, "slack_ts": ts}
        log.info("chat %s mirrored into thread %s", client.id, ts, extra=context)
        return channel, ts, state

    async def _post_card(
        self, key: str, client: ChatraClient, state: CardState, route: Route | None
    ) -> tuple[str, str]:
        """Post a new chat's card in its queue's channel; in the support channel when that one
        refuses the bot (the card says why, and the support channel is told once a day). Where
        it went, and its ts."""
        dashboard, support = self._policy.dashboard_url, self._policy.channel
        card = visitor_card(client, state, closed=False, dashboard_url=dashboard)
        if route is not None and route.channel != support:
            try:
                return route.channel, await self._delivery.post(
                    key, route.channel, card, may_move=True
                )
            except ChannelRefused as refused:
                state.moved = f"<#{route.channel}> refuses the bot's posts ({refused.reason})"
                day = time.strftime("%Y-%m-%d", time.gmtime(self._clock()))
                notice = channel_refused_notice(route.channel, refused.reason, route.queue)
                key_of_notice = post_keys.channel_refused(route.channel, day)
                await self._delivery.post(key_of_notice, support, notice)
                card = visitor_card(client, state, closed=False, dashboard_url=dashboard)
        return support, await self._delivery.post(key, support, card)

    def _after_hours(self) -> str | None:
        """Outside business hours: the line the card shows, with what the visitor was told."""
        hours = self._policy.opening_hours
        if hours is None or hours.open_at(self._clock()):
            return None
        away = self._policy.away_message
        told = f": the visitor was told “{away}”" if away else ""
        return f"Outside business hours ({hours}){told}"

    def _mirror(
        self,
        channel: str,
        thread_ts: str,
        message: ChatraMessage,
        record: Message,
        webhook: ChatraWebhook,
        replay: bool,
    ) -> Awaitable[list[str]]:
        """Queue a message's posts; what is returned ends when they are made, the message
        marked posted with its last one (in the unit of work that records it)."""
        author, at = author_and_time(message, webhook, self._clock)
        replies = mirrored_messages(message, author=author, is_agent=message.type == "agent")
        keys = [post_keys.chatra_message(message.key, n) for n in range(len(replies))]

        def posted(ts: str) -> None:  # with the last piece: the message shows from its first
            earlier = self._posts.get_many.now(keys[:-1]) if len(keys) > 1 else {}
            if any(key not in earlier or not earlier[key].ts for key in keys[:-1]):
                return  # a piece before did not reach Slack: the message is still to post
            first = earlier[keys[0]].ts if earlier else ts
            self._messages.update.now(record.id, slack_ts=first, state=MessageState.POSTED)

        pieces = [
            self._delivery.mirror(
                key, channel, thread_ts, piece, at, in_doubt=replay,
                then=posted if n == len(keys) - 1 else None,
            )
            for n, (key, piece) in enumerate(zip(keys, replies, strict=True))
        ]  # fmt: skip
        return asyncio.gather(*pieces)


def reopened_card(thread: Thread | None) -> CardState | None:
    """The card of a chat that was done, opened again by the visitor writing; None for any
    other chat."""
    if thread is None or thread.status != ChatStatus.DONE:
        return None
    return CardState.of(thread.card).reopened_because("the visitor wrote again")
