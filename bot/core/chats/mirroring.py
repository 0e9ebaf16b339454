"""Chatra -> Slack: a chat event becomes a thread (visitor card on top) and its messages replies.

Safe to run twice for the same event: a Chatra message id is posted once, ever.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from bot.core.chats.cards import Cards
from bot.core.chats.opening import OPENING_MOST, author_and_time, opening
from bot.core.context import Context
from bot.core.errors import ChannelRefused
from bot.core.people.access import Access
from bot.core.posting import post_keys
from bot.core.rules.routes import Route
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.card import CardState, OpeningLine
from bot.core.slack_ui.notices import channel_refused_notice
from bot.core.slack_ui.views import mirrored_messages, visitor_card
from bot.core.wire.chatra import (
    DERIVED_KEY,
    ChatraClient,
    ChatraMessage,
    ChatraWebhook,
    keyed_as_before,
)
from storage import Message, Thread
from storage.states import ChatStatus, MessageState

PENDING = MessageState.PENDING  # claimed, not yet on Slack

log = logging.getLogger(__name__)


class ChatToSlack:
    def __init__(self, context: Context, access: Access) -> None:
        self._slack, self._delivery = context.slack, context.delivery
        self._on_call, self._clock, self._policy = context.on_call, context.clock, context.policy
        store = context.store
        self._db, self._threads, self._messages = store.db, store.threads, store.messages
        self._agents, self._waits, self._posts = store.agents, store.waits, store.posts
        self._figures = store.figures
        self._remembered: set[tuple[object, ...]] = set()  # agents' details stored already
        self.cards = Cards(context, access)  # the card's redraws, and what its buttons do
        self._opening: dict[str, OpeningCard] = {}  # client id -> its card, on its way

    async def chat_event(
        self, webhook: ChatraWebhook, *, replay: bool = False
    ) -> asyncio.Future[None]:
        """Carry out a chat event up to its messages' posts, which wait in their channel's queue
        (joined with the thread's next ones under a backlog): the returned future ends when all
        are on Slack. The next event of the chat may start meanwhile: the queue keeps the order.
        A `replay` (an event tried before, maybe by a process that died) may have posted some
        already: Slack is asked before they are posted. Two units of work: what came, and what
        it changed (three when the card is redrawn: it is recorded once Slack shows it)."""
        client = webhook.client
        agents = [a.model_dump(include={"id", "name", "email"}) for a in webhook.agents]
        agents = [a for a in agents if tuple(a.values()) not in self._remembered]
        ordered = webhook.messages_in_order()

        def receive() -> tuple[list[ChatraMessage], list[Message], set[str], Thread | None]:
            if agents:  # each agent as webhooks list them, once per change
                self._agents.remember.now(agents)
                self._remembered.update(tuple(a.values()) for a in agents)
            if webhook.eventName == "chatTranscript" and any(not m.id for m in ordered):
                keyed_as_before(ordered, self._messages.derived_chatra_keys.now(client.id))
            messages = [m for m in ordered if not self._is_ours(client.id, m)]
            seen = self._messages.known_chatra_ids.now([m.key for m in messages])
            claimed = self._messages.claim_chatra_messages.now(
                client.id, [(m.key, m.body) for m in messages]
            )  # all the webhook's messages reach the post queue at the same moment
            return messages, claimed, seen, self._threads.for_client.now(client.id)

        # The chat's card on its way, looked up before the read: what the read finds pending may
        # be on the card already, recorded while the read's answer came back.
        waiting = self._opening.get(client.id)
        messages, claimed, seen, known = await self._db.run("ChatToSlack.receive", receive, "write")
        said = [m for m in messages if m.key not in seen and m.type in ("client", "agent")]
        unposted = [(m, r) for m, r in zip(messages, claimed, strict=True) if r.state == PENDING]
        if waiting is not None:  # its card is on its way: not repeated, and what fits joins it
            shown = {record.id for record in waiting.whole}
            unposted = [(m, r) for m, r in unposted if r.id not in shown]
        fresh = [message for message, _ in unposted]
        if waiting is not None:  # the rest follows the card, without holding up the chat's next
            joined = set() if replay else self._join(waiting, unposted, webhook)  # event
            unposted = [(m, r) for m, r in unposted if r.id not in joined]
            return asyncio.ensure_future(
                self._after_card(waiting, webhook, fresh, said, unposted, replay)
            )
        if not self._wants_card(known, new_messages=bool(fresh)):
            args = webhook, fresh, said, unposted
            _, posting = await self._carry_out(*args, known, None, replay)
            return posting
        lines, whole = opening(unposted, webhook, self._clock)
        card = OpeningCard(client, lines, whole, open=len(whole) == len(unposted) and not replay)
        self._opening[client.id] = card  # until its thread is recorded: the chat's next event
        card.recorded = asyncio.ensure_future(  # may start meanwhile, and join the card
            self._carry_out(webhook, fresh, said, unposted, known, card, replay)
        )
        card.recorded.add_done_callback(lambda _: self._opening.pop(client.id, None))
        return asyncio.ensure_future(_then_posts(card.recorded))

    async def _after_card(
        self,
        card: "OpeningCard",
        webhook: ChatraWebhook,
        fresh: list[ChatraMessage],
        said: list[ChatraMessage],
        unposted: list[tuple[ChatraMessage, Message]],
        replay: bool,
    ) -> None:
        thread, _ = await asyncio.shield(card.recorded)
        args = webhook, fresh, said, unposted
        _, posting = await self._carry_out(*args, thread, None, replay)
        await posting

    async def _carry_out(
        self,
        webhook: ChatraWebhook,
        fresh: list[ChatraMessage],
        said: list[ChatraMessage],
        unposted: list[tuple[ChatraMessage, Message]],
        known: Thread | None,
        card: "OpeningCard | None",
        replay: bool,
    ) -> tuple[Thread, asyncio.Future[list[list[str]]]]:
        """What a chat event changes, once its messages are claimed: a new chat's `card` posted
        (the thread it starts recorded with it), the card redrawn when the chat's status or
        details change. `fresh`: the event's messages not yet on Slack; `said`, those it is the
        first to bring (counted in the chat's figures); `unposted`, those still to post.
        Its thread, and the posts of its messages, queued as replies."""
        closing, client = webhook.eventName == "chatTranscript", webhook.client
        if card is not None:  # what the card shows whole is not repeated in the thread
            await self._post_new_card(card, known)
            where, whole = (card.channel, card.ts), card.whole
        else:
            assert known is not None  # a chat without a card of its own has its thread
            where, whole = (known.channel, known.thread_ts), []
        in_card = {record.id for record in whole}
        posting = [
            self._mirror(*where, m, record, webhook, replay)
            for m, record in unposted
            if record.id not in in_card
        ]
        # What the card shows: the thread as recorded, or the new card as just posted.
        shown = (
            (known.status, known.client)
            if card is None and known is not None
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
        ended = {ChatStatus.CLOSED: "closed", ChatStatus.DONE: "done"}.get(status)

        def record(update: bool) -> Thread:
            thread = (
                known
                if card is None
                else self._threads.add.now(
                    client.id, card.channel, card.ts, client_json, card.state.model_dump_json()
                )
            )
            assert thread is not None
            for on_card in whole:  # the card shows it: its post is the card
                self._messages.update.now(
                    on_card.id, slack_ts=thread.thread_ts, state=MessageState.POSTED
                )
            if card is not None:
                queue = card.state.queue if card.state else None
                self._figures.opened.now(thread, queue)
            if steps:
                self._waits.follow.now(thread.id, steps, self._clock())
            for message in said:
                if message.type == "client":
                    self._figures.visitor_wrote.now(thread.id)
                else:
                    self._figures.agent_wrote.now(thread.id, webhook.agent_name(message.agentId))
            if status != shown[0]:
                self._figures.ended.now(thread.id, ended)
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
        return thread, asyncio.ensure_future(asyncio.gather(*posting))

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

    def _wants_card(self, thread: Thread | None, *, new_messages: bool) -> bool:
        """A new card: for a visitor with no thread, or whose closed chat comes back to life
        after the idle gap with new messages (linking back)."""
        return thread is None or (
            thread.status == ChatStatus.CLOSED
            and new_messages
            and self._policy.idle_gap > 0
            and self._clock() - thread.updated_at > self._policy.idle_gap
        )

    async def _post_new_card(self, card: "OpeningCard", thread: Thread | None) -> None:
        """Post a new chat's card, opening with what it has (more may join while it waits)."""
        client, after_hours = card.client, self._after_hours()
        routes = self._policy.routes
        route = routes.route(client, after_hours=after_hours is not None)
        on_call = await self._on_call.people()
        card.state = CardState(
            previous=self.cards.link(thread) if thread else None,
            on_call=on_call,
            after_hours=after_hours,
            queue=routes.queue(route),
            opening=card.lines,
        )
        card.key = post_keys.card(client.id, thread.thread_ts if thread else None)
        card.channel, card.ts = await self._post_card(card, route)
        context = {"chat": client.id, "slack_ts": card.ts}
        log.info("chat %s mirrored into thread %s", client.id, card.ts, extra=context)

    def _join(
        self,
        card: "OpeningCard",
        unposted: list[tuple[ChatraMessage, Message]],
        webhook: ChatraWebhook,
    ) -> set[int]:
        """Join what fits of a chat's new messages to its card while the card waits for its
        slot; the ids of those it now shows (none when the card is on its way already)."""
        room = OPENING_MOST - len(card.lines)
        lines, whole = opening(unposted, webhook, self._clock, most=room)
        if not card.open or not whole:
            return set()
        card.lines += lines[: len(whole)]  # a long one, only begun, stays for the thread
        if card.state is not None:
            card.state.opening = card.lines
            message = self._card_message(card.client, card.state)
            if not self._delivery.revise(card.key, card.channel, message):
                del card.lines[-len(whole) :]
                card.state.opening = card.lines
                card.open = False
                return set()
        card.whole += whole
        card.open = len(whole) == len(unposted)
        return {record.id for record in whole}

    async def _post_card(self, card: "OpeningCard", route: Route | None) -> tuple[str, str]:
        """Post a new chat's card in its queue's channel; in the support channel when that one
        refuses the bot (the card says why, and the support channel is told once a day). Where
        it went, and its ts."""
        support, state = self._policy.channel, card.state
        assert state is not None
        if route is not None and route.channel != support:
            card.channel = route.channel
            try:
                message = self._card_message(card.client, state)
                return card.channel, await self._delivery.post(
                    card.key, card.channel, message, may_move=True
                )
            except ChannelRefused as refused:
                state.moved = f"<#{card.channel}> refuses the bot's posts ({refused.reason})"
                day = time.strftime("%Y-%m-%d", time.gmtime(self._clock()))
                notice = channel_refused_notice(card.channel, refused.reason, route.queue)
                key_of_notice = post_keys.channel_refused(card.channel, day)
                await self._delivery.post(key_of_notice, support, notice)
        card.channel = support  # joins now revise the post that goes here
        message = self._card_message(card.client, state)
        return support, await self._delivery.post(card.key, support, message)

    def _card_message(self, client: ChatraClient, state: CardState) -> SlackMessage:
        return visitor_card(client, state, closed=False, dashboard_url=self._policy.dashboard_url)

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


@dataclass
class OpeningCard:
    """A new chat's card on its way to Slack. While it waits for its slot, the chat's next
    messages may join it (`open`: nothing of the chat is queued for the thread yet)."""

    client: ChatraClient
    lines: list[OpeningLine]
    whole: list[Message]  # the messages it shows whole: marked posted with it
    open: bool
    state: CardState | None = None  # once its channel and who is on call are known
    key: str = ""
    channel: str = ""
    ts: str = ""
    recorded: "asyncio.Future[tuple[Thread, asyncio.Future[list[list[str]]]]]" = field(init=False)


async def _then_posts(recorded: "asyncio.Future[tuple[Thread, asyncio.Future[Any]]]") -> None:
    """A new chat's event is carried out: its card recorded, then the rest of its posts made."""
    _, posting = await recorded
    await posting


def reopened_card(thread: Thread | None) -> CardState | None:
    """The card of a chat that was done, opened again by the visitor writing; None for any
    other chat."""
    if thread is None or thread.status != ChatStatus.DONE:
        return None
    return CardState.of(thread.card).reopened_because("the visitor wrote again")
