"""The team: who is on call, and which Chatra agent each Slack user writes as."""

import re

from bot.core.context import Context
from bot.core.ports import SlackPort
from bot.core.rules.schedule import plan_rotation
from bot.core.slack_ui.blocks import SlackMessage, mention
from bot.core.wire.text import MENTION, NOTIFIES, plain_to_slack

_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")


async def members(slack: SlackPort, people: list[str]) -> list[str]:
    """The people themselves, and the members of user groups (S…) among them, each once."""
    found: list[str] = []
    for someone in people:
        group = await slack.group_members(someone) if someone.startswith("S") else None
        found += [m for m in group or [someone] if m not in found]
    return found


class Team:
    def __init__(self, context: Context) -> None:
        self._roster = context.on_call
        self._agents = context.store.agents
        self._clock = context.clock
        self._timezone = context.policy.timezone  # for a rotation set without one
        self._audit = context.audit

    async def on_call(self, args: str, by: str) -> SlackMessage:
        """`oncall` shows who is on call; `oncall @a @group` sets it; `oncall rotation @a @b
        monday 09:00 [Europe/Berlin]` rotates weekly; `oncall off` clears it."""
        words = args.strip()
        if words.lower() == "off":
            await self._roster.set([])
        elif words.lower().startswith("rotation"):
            problem = await self._rotate(words.removeprefix("rotation"))
            if problem:
                return SlackMessage(text=problem)
        elif words:
            found = NOTIFIES.finditer(args)
            people = [m["person"] or m["group"] for m in found if not m["everyone"]]
            if not people:
                return SlackMessage(
                    text="Name people or a user group with @mentions: `/chatra oncall @you @them`."
                )
            await self._roster.set(people)
        if words:
            self._audit.record(by, "on_call_changed", what=words)
        return SlackMessage(text=await self._describe_on_call())

    async def _rotate(self, args: str) -> str | None:
        people = MENTION.findall(args)
        when = MENTION.sub("", args).split()
        if not people or len(when) not in (2, 3):
            return (
                "Usage: `/chatra oncall rotation @first @second ... <weekday> <HH:MM> [timezone]`,"
                " e.g. `/chatra oncall rotation @sam @kim monday 09:00 Europe/Berlin`."
            )
        timezone = when[2] if len(when) == 3 else self._timezone
        try:
            rotation = plan_rotation(people, f"{when[0]} {when[1]}", timezone, self._clock())
        except ValueError as error:
            return f"That rotation cannot be set: {error}."
        await self._roster.rotate(rotation)
        return None

    async def _describe_on_call(self) -> str:
        rotation = await self._roster.rotation()
        if rotation is None:
            people = await self._roster.people()
            return "On call: " + ", ".join(map(mention, people)) if people else "No one is on call."
        now = self._clock()
        handover, successor = rotation.next_handover(now)
        turns = " → ".join(map(mention, rotation.people))
        return (
            f"On call: {mention(rotation.on_call(now))} this week. Rotation {turns}, handing over"
            f" {handover:%a %d %b %H:%M} {rotation.timezone} to {mention(successor)}."
        )

    async def agent(self, args: str, caller: str) -> SlackMessage:
        """`agent` lists who writes as whom; `agent [@user] <agent id | email>` links a person
        (the caller when no one is named); `agent [@user] off` unlinks them."""
        mention = MENTION.search(args)
        user = mention[1] if mention else caller
        target = _MAILTO.sub(r"\1", MENTION.sub("", args)).strip()
        if not target:
            return await self._agent_links()
        if target.lower() == "off":
            await self._agents.unlink(user)
            self._audit.record(caller, "agent_unlinked", what=user)
            return SlackMessage(text=f"<@{user}> now writes as the Chatra agent with their email.")
        agent_id = await self._agents.find(target)
        if agent_id is None:
            return SlackMessage(
                text=f"No Chatra agent `{plain_to_slack(target)}` is known yet: give its id, or"
                " the email of an agent who has answered a chat."
            )
        await self._agents.link({user: agent_id})
        self._audit.record(caller, "agent_linked", what=f"{user} as {agent_id}")
        return SlackMessage(
            text=f"<@{user}> writes to visitors as {await self._agent_label(agent_id)}."
        )

    async def _agent_links(self) -> SlackMessage:
        lines = ["*Who writes as which Chatra agent*"]
        links = await self._agents.links()
        lines += [
            f"• <@{user}> → {await self._agent_label(agent)}" for user, agent in links.items()
        ]
        if not links:
            lines.append("No one is linked: each person writes as the agent with their email.")
        lines.append("Link: `/chatra agent [@someone] <agent id | email>`; unlink: `… off`.")
        return SlackMessage(text="\n".join(lines))

    async def _agent_label(self, agent_id: str) -> str:
        name = await self._agents.name(agent_id)
        return f"{plain_to_slack(name)} (`{agent_id}`)" if name else f"`{agent_id}`"
