"""Chatra -> Slack: a chat event becomes a thread (visitor card on top) and its messages replies.

Safe to run twice for the same event: a Chatra message id is posted once, ever.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable

from bot.core import post_keys
from bot.core.card import CardState
from bot.core.chatra_events import DERIVED_KEY, ChatraClient, ChatraMessage, ChatraWebhook
from bot.core.context import Context
from bot.core.errors import ChannelRefused
from bot.core.notices import channel_refused_notice, internal_discussion, internal_discussion_link
from bot.core.routes import Route
from bot.core.views import mirrored_messages, thread_link, visitor_card
from storage import Message, Thread
from storage.states import MessageState

PENDING = MessageState.PENDING  # claimed, not yet on Slack

log = logging.getLogger(__name__)


class ChatToSlack:
    def __init__(self, context: Context) -> None:
        self._slack, self._delivery = context.slack, context.delivery
        self._on_call, self._clock, self._policy = context.on_call, context.clock, context.policy
        store = context.store
        self._threads, self._messages = store.threads, store.messages
        self._agents, self._waits = store.agents, store.waits

    async def chat_event(
        self, webhook: ChatraWebhook, *, replay: bool = False
    ) -> asyncio.Future[None]:
        """Carry out a chat event up to its messages' posts, which wait in their channel's queue
        (joined with the thread's next ones under a backlog): the returned future ends when all
        are on Slack. The next event of the chat may start meanwhile: the queue keeps the order.
        A `replay` (an event tried before, maybe by a process that died) may have posted some
        already: Slack is asked before they are posted."""
        closing = webhook.eventName == "chatTranscript"
        if webhook.agents:
            await self._agents.remember(
                [a.model_dump(include={"id", "name", "email"}) for a in webhook.agents]
            )
        messages = [m for m in webhook.messages_in_order() if not await self._is_ours(webhook, m)]
        claimed = await self._messages.claim_chatra_messages(
            webhook.client.id, [(m.key, m.body) for m in messages]
        )  # one unit: all the webhook's messages reach the post queue at the same moment
        unposted = [(m, r) for m, r in zip(messages, claimed, strict=True) if r.state == PENDING]
        fresh = [message for message, _ in unposted]
        thread = await self._thread_for(webhook.client, new_messages=bool(fresh))
        posting = [self._mirror(thread, m, record, webhook, replay) for m, record in unposted]
        await self._follow_the_wait(thread, fresh, closing)
        # Only new messages reopen a closed chat: a late chatStarted or fragment does not.
        status = "closed" if closing else "open" if fresh else thread.status
        # A webhook that leaves details out (a fragment, say) keeps those the card shows.
        client = ChatraClient.model_validate_json(thread.client).updated_by(webhook.client)
        client_json = client.model_dump_json()
        if status != thread.status or client_json != thread.client:
            summary = webhook.summary() if closing else None
            await self._redraw(thread, client, closed=closing, summary=summary)
        if fresh or status != thread.status or client_json != thread.client:
            await self._threads.update(thread.id, status=status, client=client_json)
        return asyncio.ensure_future(asyncio.gather(*posting))

    async def _is_ours(self, webhook: ChatraWebhook, message: ChatraMessage) -> bool:
        """Chatra's echo of a message the bridge sent: marked with our `receivedFrom`, or its
        id or very text that of a reply we sent to this visitor."""
        if message.type != "agent":
            return False
        if message.receivedFrom == self._policy.received_from:
            return True
        client_id = webhook.client.id
        if await self._messages.adopt_echo(client_id, message.key, message.body):
            return True
        derived = message.key.startswith(DERIVED_KEY)
        return derived and await self._messages.sent_with_text(client_id, message.body)

    async def _follow_the_wait(
        self, thread: Thread, fresh: list[ChatraMessage], closing: bool
    ) -> None:
        """A visitor's message starts a wait for an answer; an agent's answer or the chat's end
        stops it."""
        steps = [m.type == "client" for m in fresh if m.type in ("client", "agent")]
        steps += [False] if closing else []
        if steps:
            await self._waits.follow(thread.id, steps, self._clock())

    async def _thread_for(self, client: ChatraClient, *, new_messages: bool) -> Thread:
        """The client's thread; a new one, linking back, when a closed chat comes back to life
        after the idle gap."""
        thread = await self._threads.for_client(client.id)
        came_back = (
            thread is not None
            and thread.status == "closed"
            and new_messages
            and self._policy.idle_gap > 0
            and time.time() - thread.updated_at > self._policy.idle_gap
        )
        if thread is None or came_back:
            after_hours = self._after_hours()
            routes = self._policy.routes
            route = routes.route(client, after_hours=after_hours is not None)
            state = CardState(
                previous=self._link(thread) if thread else None,
                on_call=await self._on_call.people(),
                after_hours=after_hours,
                queue=routes.queue(route),
            )
            key = post_keys.card(client.id, thread.thread_ts if thread else None)
            channel, ts = await self._post_card(key, client, state, route)
            thread = await self._threads.add(
                client.id,
                channel,
                ts,
                client.model_dump_json(),
                state.model_dump_json(),
            )
            context = {"chat": client.id, "slack_ts": ts}
            log.info("chat %s mirrored into thread %s", client.id, ts, extra=context)
        return thread

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
        thread: Thread,
        message: ChatraMessage,
        record: Message,
        webhook: ChatraWebhook,
        replay: bool,
    ) -> Awaitable[None]:
        """Queue a message's posts; what is returned ends when they are made and recorded."""
        is_agent = message.type == "agent"
        author = webhook.agent_name(message.agentId) if is_agent else webhook.client.display_name()
        at = message.createdAt / 1000 if message.createdAt else self._clock()
        replies = mirrored_messages(message, author=author, is_agent=is_agent)
        pieces = [
            self._delivery.mirror(
                post_keys.chatra_message(message.key, n), thread, piece, at, in_doubt=replay
            )
            for n, piece in enumerate(replies)
        ]
        return self._posted(record.id, pieces)

    async def _posted(self, message_id: int, pieces: list[asyncio.Future[str]]) -> None:
        first_ts = (await asyncio.gather(*pieces))[0]
        await self._messages.update(message_id, slack_ts=first_ts, state=MessageState.POSTED)

    def _link(self, thread: Thread) -> str:
        return thread_link(thread.channel, thread.thread_ts, self._slack.workspace_url)

    async def claim(self, client_id: str, user: str, *, only_if_unowned: bool = False) -> bool:
        """`user` takes the chat: shown on its card; escalation then goes to them alone."""
        thread = await self._threads.for_client(client_id)
        if thread is None or not user:
            return False
        state = CardState.of(thread.card)
        if state.owner == user or (only_if_unowned and state.owner):
            return False
        state.owner = user
        await self._threads.set_card(thread.id, state.model_dump_json())
        client = ChatraClient.model_validate_json(thread.client)
        await self._redraw(thread, client, closed=thread.status == "closed", state=state)
        return True

    async def discuss_internally(self, client_id: str) -> str | None:
        """Open (once per chat thread) a thread of the team's own about the chat; its link."""
        thread = await self._threads.for_client(client_id)
        if thread is None:
            return None
        name = ChatraClient.model_validate_json(thread.client).display_name()
        chat = self._link(thread)
        opened = internal_discussion(name, chat)
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
        changed = ChatraClient.model_validate({**details, "id": client_id}).contact()
        client = ChatraClient.model_validate_json(thread.client).with_contact(changed)
        await self._redraw(thread, client, closed=thread.status == "closed")
        await self._threads.update(thread.id, status=thread.status, client=client.model_dump_json())

    async def _redraw(
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
        dashboard = self._policy.dashboard_url
        card = visitor_card(client, state, closed=closed, dashboard_url=dashboard, summary=summary)
        await self._slack.update(thread.channel, thread.thread_ts, card)
