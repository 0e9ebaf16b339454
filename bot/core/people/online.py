"""Online in Chatra while on duty in Slack. With no agent online, Chatra's widget becomes an
offline form and the answer goes out by email: a team answering from Slack would look absent.

Every CHATRA_ONLINE_EVERY_SECONDS the leader runs CHATRA_ONLINE_ACTION (Chatra keeps an agent
online 2-3 minutes) for each agent on duty: a person linked to an agent Chatra knows (by id, or
by the email of an agent a webhook listed: a ping by an unknown email would make up a new
agent), whom Slack shows active, and who is on call, or answered from Slack in the last 30
minutes, or said `/chatra online` (until `/chatra away`); outside business hours, only those on
call. A ping that fails is one warning per agent an hour, and nothing waits for it."""

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.core.context import Context
from bot.core.errors import MembraneError
from bot.core.people.team import members
from bot.core.slack_ui.blocks import SlackMessage, mention
from bot.core.slack_ui.views import moment
from bot.core.wire.text import plain_to_slack

log = logging.getLogger(__name__)
ANSWERED_WITHIN = 30 * 60.0  # seconds: who answered from Slack this lately is on duty
ONLINE_FOR = 150.0  # seconds Chatra shows an agent online after a ping
WARN_EVERY = 3600.0  # seconds between warnings of a failing ping, per agent


class ChatraOnline(Protocol):
    online_action: str | None  # None: CHATRA_ONLINE_ACTION is not set

    async def agent_online(self, agent_id: str, email: str | None, name: str | None) -> None: ...


@dataclass(frozen=True)
class OnDuty:
    """Someone to show online in Chatra, as which agent."""

    slack_user: str
    agent_id: str
    email: str | None  # Chatra's email of the agent (None: unknown, so never sent)
    name: str | None


class Online:
    def __init__(self, context: Context, chatra: ChatraOnline, every: float) -> None:
        self._chatra, self._every = chatra, every
        self._slack, self._store, self._clock = context.slack, context.store, context.clock
        self._on_call, self._hours = context.on_call, context.policy.opening_hours
        self._looked_at: dict[str, float] = {}  # person -> when the last round looked at them
        self._warned: dict[str, float] = {}  # agent -> when its failing ping was last told

    @property
    def enabled(self) -> bool:
        return self._chatra.online_action is not None

    async def ping(self) -> None:
        """The leader's round: each person on duty whom it has not looked at for an interval
        is looked at (active in Slack?) and their agent pinged, side by side."""
        if not self.enabled:
            return
        now = self._clock()
        due = [
            user
            for user in await self.on_duty(now)
            if now - self._looked_at.get(user, -self._every) >= self._every
        ]
        people: dict[str, OnDuty] = {}  # one person per agent
        for user in due:
            self._looked_at[user] = now
            person = await self._as_agent(user)
            if person and person.agent_id not in people and await self._slack.active(user):
                people[person.agent_id] = person
        done = await asyncio.gather(*(self._ping(p, now) for p in people.values()))
        pinged = [(p.agent_id, p.slack_user) for p in done if p is not None]
        if pinged:
            await self._store.on_duty.pinged(pinged, now, ONLINE_FOR)

    async def _ping(self, person: OnDuty, now: float) -> OnDuty | None:
        """`person` once their agent is pinged; None when the ping failed."""
        try:
            await self._chatra.agent_online(person.agent_id, person.email, person.name)
        except MembraneError as error:
            if now - self._warned.get(person.agent_id, -WARN_EVERY) >= WARN_EVERY:
                self._warned[person.agent_id] = now
                log.warning(
                    "Chatra was not told agent %s is online (%s); said again in an hour if"
                    " it goes on", person.agent_id, error,
                )  # fmt: skip
            return None
        self._warned.pop(person.agent_id, None)
        return person

    async def on_duty(self, now: float) -> list[str]:
        """Who is on duty now, whether Slack shows them active or not: on call; in business
        hours also who answered lately or said online; never who said away since."""
        duty = self._store.on_duty
        answered, said = await duty.answered_since(now - ANSWERED_WITHIN), await duty.said()
        people = await members(self._slack, await self._on_call.people())
        if self._hours is None or self._hours.open_at(now):
            people += [user for user in answered if user not in people]
            people += [u for u, (online, _) in said.items() if online and u not in people]
        return [
            user
            for user in people
            if said.get(user, (True, 0.0))[0] or answered.get(user, 0.0) > said[user][1]
        ]

    async def _as_agent(self, user: str) -> OnDuty | None:
        """The Chatra agent `user` is, when Chatra knows it: linked, or by their email."""
        agents = self._store.agents
        agent_id = await agents.linked(user)
        if agent_id is None:
            email = await self._slack.user_email(user)
            agent_id = await agents.by_email(email) if email else None
        if agent_id is None:
            return None
        name, email = await agents.details(agent_id)
        return OnDuty(user, agent_id, email, name or await self._slack.user_name(user))

    async def say(self, user: str, online: bool) -> SlackMessage:
        """`/chatra online` or `/chatra away`."""
        await self._store.on_duty.say(user, online)
        if not self.enabled:
            return SlackMessage(
                text="Noted, but Chatra is not told who is online: CHATRA_ONLINE_ACTION is not"
                " set (`chatra-bridge check` says how to make the action)."
            )
        if online:
            return SlackMessage(
                text=":large_green_circle: Chatra shows you online while Slack shows you active,"
                " until `/chatra away`."
            )
        return SlackMessage(
            text=":white_circle: Chatra no longer shows you online (within 3 minutes), until"
            " `/chatra online` or your next reply to a visitor. On call, you are still told"
            " of new chats."
        )

    async def shown(self) -> str:
        """Who Chatra shows online on the bridge's word, and since when: one line."""
        if not self.enabled:
            return "Online in Chatra: not told (CHATRA_ONLINE_ACTION is not set)"
        people = [
            f"{mention(o.slack_user)} as {plain_to_slack(o.name or o.agent_id)}"
            f" since {moment(o.since)}"
            for o in await self._store.on_duty.online(ONLINE_FOR)
        ]
        return "Online in Chatra: " + (", ".join(people) or "no one (the widget is offline)")
