"""The team: who is on call, and which Chatra agent each Slack user writes as."""

import re

from bot.slack_views import SlackMessage
from bot.text import plain_to_slack
from storage import Agents, OnCall

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")


class Team:
    def __init__(self, on_call: OnCall, agents: Agents) -> None:
        self._on_call = on_call
        self._agents = agents

    def on_call(self, args: str) -> SlackMessage:
        """`oncall` shows who is on call, `oncall @a @b` sets it, `oncall off` clears it."""
        if args.strip().lower() == "off":
            self._on_call.set([])
        elif args.strip():
            users = _MENTION.findall(args)
            if not users:
                return SlackMessage(text="Name people with @mentions: `/chatra oncall @you @them`.")
            self._on_call.set(users)
        people = self._on_call.people()
        if not people:
            return SlackMessage(text="No one is on call.")
        return SlackMessage(text="On call: " + ", ".join(f"<@{user}>" for user in people))

    def agent(self, args: str, caller: str) -> SlackMessage:
        """`agent` lists who writes as whom; `agent [@user] <agent id | email>` links a person
        (the caller when no one is named); `agent [@user] off` unlinks them."""
        mention = _MENTION.search(args)
        user = mention[1] if mention else caller
        target = _MAILTO.sub(r"\1", _MENTION.sub("", args)).strip()
        if not target:
            return self._agent_links()
        if target.lower() == "off":
            self._agents.unlink(user)
            return SlackMessage(text=f"<@{user}> now writes as the Chatra agent with their email.")
        agent_id = self._agents.find(target)
        if agent_id is None:
            return SlackMessage(
                text=f"No Chatra agent `{plain_to_slack(target)}` is known yet: give its id, or"
                " the email of an agent who has answered a chat."
            )
        self._agents.link({user: agent_id})
        return SlackMessage(text=f"<@{user}> writes to visitors as {self._agent_label(agent_id)}.")

    def _agent_links(self) -> SlackMessage:
        lines = ["*Who writes as which Chatra agent*"]
        links = self._agents.links()
        lines += [f"• <@{user}> → {self._agent_label(agent)}" for user, agent in links.items()]
        if not links:
            lines.append("No one is linked: each person writes as the agent with their email.")
        lines.append("Link: `/chatra agent [@someone] <agent id | email>`; unlink: `… off`.")
        return SlackMessage(text="\n".join(lines))

    def _agent_label(self, agent_id: str) -> str:
        name = self._agents.name(agent_id)
        return f"{plain_to_slack(name)} (`{agent_id}`)" if name else f"`{agent_id}`"
