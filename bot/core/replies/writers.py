"""Who the visitor sees writing a reply. Chatra requires every agent message to name its writer:
an agent's id, or an email and a name (with the sender's `receivedFrom` mark)."""

from bot.core.context import Context
from bot.core.errors import NoWriter
from bot.core.ports import Writer
from bot.core.posting import post_keys
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.notices import writing_as_notice
from storage import Thread


class Writers:
    def __init__(self, context: Context) -> None:
        self._slack, self._posts = context.slack, context.posts
        self._db, self._agents = context.store.db, context.store.agents
        self._default_agent = context.policy.default_agent

    async def of(self, user: str) -> tuple[Writer, str | None]:
        """Who `user` writes to visitors as (see `resolve`): one unit of work."""
        email, who = await self.of_slack(user)
        return await self._db.run("Writers.of", lambda: self.resolve(user, email, who))

    async def of_slack(self, user: str) -> tuple[str | None, str | None]:
        """What Slack says of a person for `resolve`: their email and their name."""
        if not user:
            return None, None
        return await self._slack.user_email(user), await self._slack.user_name(user)

    def resolve(self, user: str, email: str | None, who: str | None) -> tuple[Writer, str | None]:
        """On the database's thread: the Chatra agent linked to the Slack user, else the agent
        with the same email, else the default agent, else the person's own Slack name and email;
        and, for the last two, the name the thread is to be told. NoWriter when none is known:
        Chatra would refuse a message from nobody."""
        agent_id = self._agents.linked.now(user) if user else None
        if agent_id is None and email:
            agent_id = self._agents.by_email.now(email)
        if agent_id is not None:
            return Writer(agent_id=agent_id), None
        if self._default_agent:
            writer = Writer(agent_id=self._default_agent)
            as_whom = self._agents.name.now(self._default_agent) or "the default Chatra agent"
        elif email and who:
            writer, as_whom = Writer(email=email, name=who), who
        else:
            raise NoWriter(
                f"Chatra needs to know who writes, and {who or 'this person'} has no Chatra agent"
                " and no email in Slack: link one with `/chatra agent <agent id or email>` (or"
                " set CHATRA_DEFAULT_AGENT_ID), then try again."
            )
        return writer, as_whom

    @staticmethod
    def notice(
        thread: Thread, user: str, who: str | None, as_whom: str
    ) -> tuple[str, SlackMessage]:
        """Once per person and thread (its key): whom the visitor sees their replies from."""
        key = post_keys.writing_as(thread.thread_ts or "", user)
        return key, writing_as_notice(who or "Someone", as_whom)
