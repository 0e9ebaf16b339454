"""Chatra -> Slack, the deciding half: a chat event is carried out in one unit of work, which
records what it brings and what must be shown (a new chat's thread with its card due, its
messages pending, its card to draw again), its figures and waits, and the event done. Nothing
is called outside in it, and nothing is kept for the next event: the poster of the chat's
channel makes the posts (`bot.core.posting.poster`).

Safe to run twice for the same event: a Chatra message is recorded once, ever."""

import logging

from bot.core.chats.chat import CardState, Chat
from bot.core.context import Context
from bot.core.engine.lanes import Lease
from bot.core.posting import post_keys
from bot.core.slack_ui.mirrored import Mirrored
from bot.core.slack_ui.notices import low_rating_notice
from bot.core.slack_ui.views import earlier_chats, thread_link
from bot.core.wire.chatra import (
    DERIVED_KEY,
    ChatraClient,
    ChatraMessage,
    ChatraWebhook,
    keyed_as_before,
)
from bot.core.wire.text import shown_name
from storage import Thread
from storage.inbox import ARRIVED
from storage.states import ChatStatus

log = logging.getLogger(__name__)


class ChatToSlack:
    def __init__(self, context: Context) -> None:
        self._slack, self._on_call, self._posts = context.slack, context.on_call, context.posts
        self._clock, self._policy = context.clock, context.policy
        self._store = context.store

    async def chat_event(
        self, webhook: ChatraWebhook, event_id: int, lease: Lease | None = None
    ) -> list[str]:
        """Carry out a chat event, marking it done in the same unit (while this bridge holds
        its lane's `lease`: LeaseLost otherwise); the channels given something to post."""
        store, client = self._store, webhook.client
        ordered = webhook.messages_in_order()

        def decide() -> list[str]:
            if lease is not None:
                lease.fence()
            if webhook.agents:  # each agent as webhooks list them
                agents = [a.model_dump(include={"id", "name", "email"}) for a in webhook.agents]
                store.agents.remember.now(agents)
            if webhook.eventName == "chatTranscript" and any(not m.id for m in ordered):
                keyed_as_before(ordered, store.messages.derived_chatra_keys.now(client.id))
            messages = [m for m in ordered if not self._is_ours(client.id, m)]
            known = store.messages.known_chatra_ids.now([m.key for m in messages])
            fresh = [m for m in messages if m.key not in known]
            thread = store.threads.for_client.now(client.id, to_change=True)
            if self._wants_card(thread, new_messages=bool(fresh)):
                thread = self._new_chat(webhook.client, self._on_call.people_now())
            assert thread is not None
            shown = [(m.key, m.body, self._mirrored(m, webhook)) for m in fresh]
            new = set(store.messages.claim_chatra_messages.now(client.id, thread.id, shown))
            said = [m for m in fresh if m.key in new and m.by_a_person]
            self._count(thread, said, webhook)
            told = self._rated(thread, webhook) if webhook.eventName == "chatTranscript" else []
            redraw = self._show_status(thread, webhook, fresh=[m for m in fresh if m.key in new])
            store.inbox.mark_done.now(event_id)
            if not (new or redraw or told or thread.thread_ts is None):
                return []
            store.db.notify(ARRIVED, f"post:{thread.channel}")
            return [thread.channel, *told]

        return await store.db.run("ChatToSlack.decide", decide, "write")

    def _new_chat(self, client: ChatraClient, on_call: list[str]) -> Thread:
        """On the database's thread: a new chat's thread, its card due in its queue's channel
        (with the visitor's earlier chats, if any)."""
        after_hours = self._after_hours()
        routes = self._policy.routes
        route = routes.route(client, after_hours=after_hours is not None)
        card = CardState(
            earlier=earlier_chats(
                *self._store.threads.earlier.now(client.id), self._slack.workspace_url
            ),
            on_call=on_call,
            after_hours=after_hours,
            queue=routes.queue(route),
        )
        channel = route.channel if route is not None else self._policy.channel
        thread = self._store.threads.add.now(
            client.id, channel, client.model_dump_json(), card.model_dump_json()
        )
        self._store.figures.opened.now(thread, card.queue)
        log.info("chat %s: its card is due in %s", client.id, channel, extra={"chat": client.id})
        return thread

    def _count(self, thread: Thread, said: list[ChatraMessage], webhook: ChatraWebhook) -> None:
        """The chat's figures and its visitor's wait, by what it brings for the first time: a
        visitor's message starts a wait (or keeps one running), an answer ends it."""
        store, closing = self._store, webhook.eventName == "chatTranscript"
        steps = [m.type == "client" for m in said] + ([False] if closing else [])
        if steps:
            store.waits.follow.now(thread.id, steps, self._clock())
        for message in said:
            if message.type == "client":
                store.figures.visitor_wrote.now(thread.id)
            else:
                store.figures.agent_wrote.now(thread.id, webhook.agent_name(message.agentId))

    def _rated(self, thread: Thread, webhook: ChatraWebhook) -> list[str]:
        """The visitor's rating among the chat's figures; a low one is said in its thread
        (broadcast to the channel when no one has the chat) and told to whoever has it. Once
        per rating, by its keys. Who was told besides the thread's channel."""
        rating = webhook.rating()
        if rating is None:
            return []
        low = rating.low(self._policy.rating_alert_at)
        self._store.figures.rated.now(thread.id, rating.shown, low)
        if not low:
            return []
        chat = Chat.of(thread)
        owner, said = chat.card.owner, (rating.shown, rating.comment)
        notice = low_rating_notice(chat.name, rating, broadcast=owner is None)
        self._posts.now(
            post_keys.low_rating(thread.id, *said), thread.channel, notice, thread=thread
        )
        if owner is None:
            return []
        link = self._link(thread) if thread.thread_ts else None
        dm = low_rating_notice(chat.name, rating, link=link)
        self._posts.now(post_keys.low_rating(thread.id, *said, to=owner), owner, dm)
        return [owner]

    def _show_status(
        self, thread: Thread, webhook: ChatraWebhook, fresh: list[ChatraMessage]
    ) -> bool:
        """The chat's status and visitor as the event tells them; whether what the card shows
        changed (it is drawn again). Only new messages reopen a closed chat (a late fragment
        does not), and only the visitor writing reopens one marked done."""
        store, closing = self._store, webhook.eventName == "chatTranscript"
        status = ChatStatus.CLOSED if closing else ChatStatus.OPEN if fresh else thread.status
        if status == ChatStatus.OPEN and thread.status == ChatStatus.DONE:
            visitor_wrote = any(m.type == "client" for m in fresh)
            status = ChatStatus.OPEN if visitor_wrote else ChatStatus.DONE
        # A webhook that leaves details out (a fragment, say) keeps those the card shows.
        client = ChatraClient.model_validate_json(thread.client).updated_by(webhook.client)
        card = CardState.of(thread.card)
        if thread.status == ChatStatus.DONE and status == ChatStatus.OPEN:
            card = card.reopened_because("the visitor wrote again")
        if closing:
            card = card.model_copy(update={"summary": webhook.summary()})
        changed = {"status": status, "client": client.model_dump_json()}
        changed["card"] = card.model_dump_json()
        if changed != {"status": thread.status, "client": thread.client, "card": thread.card}:
            store.threads.change.now(thread.id, **changed)
            if status != thread.status:
                ended = {ChatStatus.CLOSED: "closed", ChatStatus.DONE: "done"}.get(status)
                store.figures.ended.now(thread.id, ended)
            return True
        if fresh:
            store.threads.touch.now(thread.id)
        return False

    def _mirrored(self, message: ChatraMessage, webhook: ChatraWebhook) -> str:
        """What the thread is to show of a message: it, its author's name, when (JSON)."""
        if message.type == "agent" and message.automatic and not message.agentId:
            author = "Chatra"
        elif message.type == "agent":
            author = webhook.agent_name(message.agentId)
            if author == "Agent" and message.agentId:  # as an earlier webhook named them
                author = shown_name(self._store.agents.name.now(message.agentId) or "") or author
        else:
            author = webhook.client.display_name()
        at = message.createdAt / 1000 if message.createdAt else self._clock()
        return Mirrored(message=message, author=author, at=at).model_dump_json()

    def _is_ours(self, client_id: str, message: ChatraMessage) -> bool:
        """On the database's thread: Chatra's echo of a message the bridge sent, marked with
        our `receivedFrom`, or its id or very text that of a reply we sent to this visitor (a
        pushed message is shown, marked, even when sent from Slack: no reply shows it)."""
        if message.type != "agent" or message.automatic:
            return False
        if message.receivedFrom == self._policy.received_from:
            return True
        messages = self._store.messages
        if messages.adopt_echo.now(client_id, message.key, message.body):
            return True
        derived = message.key.startswith(DERIVED_KEY)
        return derived and messages.sent_with_text.now(client_id, message.body)

    def _wants_card(self, thread: Thread | None, *, new_messages: bool) -> bool:
        """A new card: for a visitor with no thread, or whose closed chat comes back to life
        after the idle gap with new messages (linking back)."""
        return thread is None or (
            thread.status == ChatStatus.CLOSED
            and new_messages
            and self._policy.idle_gap > 0
            and self._clock() - thread.updated_at > self._policy.idle_gap
        )

    def _link(self, thread: Thread) -> str:
        assert thread.thread_ts is not None
        return thread_link(thread.channel, thread.thread_ts, self._slack.workspace_url)

    def _after_hours(self) -> str | None:
        """Outside business hours: the line the card shows, with what the visitor was told."""
        hours = self._policy.opening_hours
        if hours is None or hours.open_at(self._clock()):
            return None
        away = self._policy.away_message
        told = f": the visitor was told “{away}”" if away else ""
        return f"Outside business hours ({hours}){told}"
