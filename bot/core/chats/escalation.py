"""No visitor waits unanswered: a nudge in the thread after a while, then the on-call people are
messaged and the thread is broadcast to the channel. Once per wait, across retries and restarts."""

import logging

from bot.core.context import Context
from bot.core.errors import SlackRefused
from bot.core.posting import post_keys
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.card import Chat
from bot.core.slack_ui.notices import escalation_dm, escalation_notice, nudge_notice
from bot.core.slack_ui.views import thread_link
from storage import Wait

log = logging.getLogger(__name__)


class Escalation:
    def __init__(self, context: Context) -> None:
        self._slack, self._delivery = context.slack, context.delivery
        self._on_call, self._clock = context.on_call, context.clock
        self._waits, self._threads = context.store.waits, context.store.threads
        policy = context.policy
        self._nudge_after, self._escalate_after = policy.nudge_after, policy.escalate_after

    async def check(self) -> None:
        """Nudge and escalate every wait that is due. Keys make each post happen once; a post
        that fails (for one chat, one person) holds up no other and is tried again next round."""
        now = self._clock()
        for wait in await self._waits.due("nudged", now - self._nudge_after):
            if await self._nudge(wait, now):
                await self._waits.mark(wait.thread_id, "nudged")
        for wait in await self._waits.due("escalated", now - self._escalate_after):
            if await self._escalate(wait, now):
                await self._waits.mark(wait.thread_id, "escalated")

    async def _nudge(self, wait: Wait, now: float) -> bool:
        thread = await self._threads.by_id(wait.thread_id)
        if thread is None:
            return True
        notice = nudge_notice(Chat.of(thread).name, now - wait.since)
        key = post_keys.nudge(thread.id, wait.since)
        return await self._post(key, thread.channel, notice, thread.thread_ts)

    async def _escalate(self, wait: Wait, now: float) -> bool:
        """DMs to whoever has the chat (or everyone on call) and a broadcast; True when all of
        it is done."""
        thread = await self._threads.by_id(wait.thread_id)
        if thread is None:
            return True
        chat, waited = Chat.of(thread), now - wait.since
        name, owner = chat.name, chat.card.owner
        link = thread_link(thread.channel, thread.thread_ts, self._slack.workspace_url)
        people = [owner] if owner else await self._on_call.people()
        done = True
        for person in await self._members(people):  # a DM: posted to the user id
            key = post_keys.escalation_dm(thread.id, wait.since, person)
            done &= await self._post(key, person, escalation_dm(name, waited, link))
        if not owner:  # taken: no broadcast to everyone else
            notice = escalation_notice(name, waited, people)
            key = post_keys.escalation(thread.id, wait.since)
            done &= await self._post(key, thread.channel, notice, thread.thread_ts)
        return done

    async def _post(
        self, key: str, channel: str, message: SlackMessage, thread_ts: str | None = None
    ) -> bool:
        """Post once; False when it is to be tried again next round. A post Slack refuses for
        good (someone who cannot be messaged) counts as done: no retry would change it."""
        try:
            await self._delivery.post(key, channel, message, thread_ts)
        except SlackRefused as refused:
            log.warning("%s given up: %s", key, refused)
        except Exception as error:  # Slack down or slow: the next round tries again
            log.warning("%s not posted (%s): tried again next round", key, type(error).__name__)
            return False
        return True

    async def _members(self, people: list[str]) -> list[str]:
        """The people themselves, and the members of user groups among them, each once."""
        members: list[str] = []
        for someone in people:
            group = await self._slack.group_members(someone) if someone.startswith("S") else None
            members += [m for m in group or [someone] if m not in members]
        return members
