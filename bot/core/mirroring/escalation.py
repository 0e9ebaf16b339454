"""No visitor waits unanswered: a nudge in the thread after a while, then the on-call people are
messaged and the thread is broadcast to the channel. Once per wait: each is owed to Slack in
the unit that marks the wait nudged or escalated."""

from bot.core.chats.chat import Chat
from bot.core.context import Context
from bot.core.people.team import members as team_members
from bot.core.posting import post_keys
from bot.core.slack_ui.notices import escalation_dm, escalation_notice, nudge_notice
from bot.core.slack_ui.views import thread_link
from storage import Wait


class Escalation:
    def __init__(self, context: Context) -> None:
        self._slack, self._posts = context.slack, context.posts
        self._on_call, self._clock = context.on_call, context.clock
        self._store = context.store
        policy = context.policy
        self._nudge_after, self._escalate_after = policy.nudge_after, policy.escalate_after

    async def check(self) -> None:
        """Nudge and escalate every wait that is due."""
        now, waits = self._clock(), self._store.waits
        for wait in await waits.due("nudged", now - self._nudge_after):
            await self._nudge(wait, now)
        for wait in await waits.due("escalated", now - self._escalate_after):
            await self._escalate(wait, now)

    async def _nudge(self, wait: Wait, now: float) -> None:
        store = self._store

        def record() -> list[str]:
            thread = store.threads.by_id.now(wait.thread_id)
            store.waits.mark.now(wait.thread_id, "nudged")
            if thread is None:
                return []
            notice = nudge_notice(Chat.of(thread).name, now - wait.since)
            key = post_keys.nudge(thread.id, wait.since)
            self._posts.now(key, thread.channel, notice, thread=thread)
            return [thread.channel]

        self._wake(await store.db.run("Escalation.nudge", record, "write"))

    async def _escalate(self, wait: Wait, now: float) -> None:
        """DMs to whoever has the chat (or everyone on call) and a broadcast in its thread."""
        store = self._store
        thread = await store.threads.by_id(wait.thread_id)
        owner = Chat.of(thread).card.owner if thread is not None else None
        people = [owner] if owner else await self._on_call.people()
        members = await team_members(self._slack, people)  # a DM: posted to the user id

        def record() -> list[str]:
            if thread is not None and thread.thread_ts is None:
                return []  # once its card is on Slack: the messages link to it
            store.waits.mark.now(wait.thread_id, "escalated")
            if thread is None or thread.thread_ts is None:
                return []
            chat, waited = Chat.of(thread), now - wait.since
            link = thread_link(thread.channel, thread.thread_ts, self._slack.workspace_url)
            for person in members:
                key = post_keys.escalation_dm(thread.id, wait.since, person)
                self._posts.now(key, person, escalation_dm(chat.name, waited, link))
            if not owner:  # taken: no broadcast to everyone else
                notice = escalation_notice(chat.name, waited, people)
                key = post_keys.escalation(thread.id, wait.since)
                self._posts.now(key, thread.channel, notice, thread=thread)
            return [*members, thread.channel]

        self._wake(await store.db.run("Escalation.escalate", record, "write"))

    def _wake(self, channels: list[str]) -> None:
        for channel in channels:
            self._posts.wake(channel)
