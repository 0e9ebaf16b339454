"""Who the visitor sees writing a reply. Chatra requires every agent message to name its writer:
an agent's id, or an email and a name (with the sender's `receivedFrom` mark)."""

from bot.core import post_keys
from bot.core.context import Context
from bot.core.errors import MembraneError
from bot.core.notices import writing_as_notice
from bot.core.ports import Writer
from storage import Thread


class Writers:
    def __init__(self, context: Context) -> None:
        self._slack, self._delivery = context.slack, context.delivery
        self._agents = context.store.agents
        self._default_agent = context.policy.default_agent

    async def of(self, user: str) -> tuple[Writer, str | None]:
        """The Chatra agent linked to the Slack user, else the agent with the same email, else
        the default agent, else the person's own Slack name and email; and, for the last two,
        the name the thread is to be told. A MembraneError when none is known: Chatra would
        refuse a message from nobody."""
        agent_id = await self._agents.linked(user) if user else None
        email = await self._slack.user_email(user) if user and agent_id is None else None
        if agent_id is None and email:
            agent_id = await self._agents.by_email(email)
        if agent_id is not None:
            return Writer(agent_id=agent_id), None
        who = await self._slack.user_name(user) if user else None
        if self._default_agent:
            writer = Writer(agent_id=self._default_agent)
            as_whom = await self._agents.name(self._default_agent) or "the default Chatra agent"
        elif email and who:
            writer, as_whom = Writer(email=email, name=who), who
        else:
            raise MembraneError(
                "no_agent",
                f"Chatra needs to know who writes, and {who or 'this person'} has no Chatra agent"
                " and no email in Slack: link one with `/chatra agent <agent id or email>` (or"
                " set CHATRA_DEFAULT_AGENT_ID), then try again.",
                transient=False,
            )
        return writer, as_whom

    async def tell(self, thread: Thread, user: str, as_whom: str) -> None:
        """Once per person and thread: whom the visitor sees their replies from."""
        who = await self._slack.user_name(user) if user else None
        notice = writing_as_notice(who or "Someone", as_whom)
        key = post_keys.writing_as(thread.thread_ts, user)
        await self._delivery.post(key, thread.channel, notice, thread.thread_ts)
