"""No visitor waits unanswered: a nudge in the thread after a while, then the on-call people are
messaged and the thread is broadcast to the channel. Once per wait, across retries and restarts."""

import json
from collections.abc import Callable

from bot.chatra_events import ChatraClient
from bot.ports import SlackPort
from bot.roster import Roster
from bot.slack_delivery import SlackDelivery
from bot.slack_views import escalation_dm, escalation_notice, nudge_notice, thread_link
from storage import Threads, Waits


class Escalation:
    def __init__(
        self,
        *,
        waits: Waits,
        threads: Threads,
        on_call: Roster,
        delivery: SlackDelivery,
        slack: SlackPort,
        clock: Callable[[], float],
        nudge_after: float,
        escalate_after: float,
    ) -> None:
        self._waits = waits
        self._threads = threads
        self._on_call = on_call
        self._delivery = delivery
        self._slack = slack
        self._clock = clock
        self._nudge_after = nudge_after
        self._escalate_after = escalate_after

    async def check(self) -> None:
        """Nudge and escalate every wait that is due. Keys make each post happen once."""
        now = self._clock()
        for wait in self._waits.due("nudged", now - self._nudge_after):
            thread = self._threads.by_id(wait.thread_id)
            if thread is not None:
                notice = nudge_notice(self._name(thread.client), (now - wait.since) / 60)
                key = f"nudge:{thread.id}:{wait.since}"
                await self._delivery.post(key, thread.channel, notice, thread.thread_ts)
            self._waits.mark(wait.thread_id, "nudged")
        for wait in self._waits.due("escalated", now - self._escalate_after):
            thread = self._threads.by_id(wait.thread_id)
            if thread is not None:
                name, minutes = self._name(thread.client), (now - wait.since) / 60
                link = thread_link(thread.channel, thread.thread_ts)
                owner = json.loads(thread.notes).get("owner")
                people = [owner] if owner else self._on_call.people()
                for person in await self._members(people):  # a DM: posted to the user id
                    dm = escalation_dm(name, minutes, link)
                    await self._delivery.post(f"dm:{thread.id}:{wait.since}:{person}", person, dm)
                if not owner:  # taken: no broadcast to everyone else
                    notice = escalation_notice(name, minutes, people)
                    key = f"escalate:{thread.id}:{wait.since}"
                    await self._delivery.post(key, thread.channel, notice, thread.thread_ts)
            self._waits.mark(wait.thread_id, "escalated")

    async def _members(self, people: list[str]) -> list[str]:
        """The people themselves, and the members of user groups among them, each once."""
        members: list[str] = []
        for someone in people:
            group = await self._slack.group_members(someone) if someone.startswith("S") else None
            members += [m for m in group or [someone] if m not in members]
        return members

    @staticmethod
    def _name(client_json: str) -> str:
        return ChatraClient.model_validate_json(client_json).display_name()
