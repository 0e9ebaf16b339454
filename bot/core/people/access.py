"""Who may act on visitors (answer them, look them up, edit them, push to them) and on the team's
setup: by default the full members of the support channels, guests never; ALLOWED_USERS or
ALLOWED_USERGROUP to say otherwise."""

from bot.core.context import Context
from bot.core.slack_ui.blocks import mention

MEMBERS_KEPT = 60.0  # seconds a list of who may act is trusted before Slack is asked again


class Access:
    def __init__(self, context: Context) -> None:
        self._slack, self._clock, self._policy = context.slack, context.clock, context.policy
        self._known: tuple[float, set[str] | None] | None = None

    async def refusal(self, user: str) -> str | None:
        """Why `user` may not act, in a sentence for them; None when they may."""
        guest = await self._slack.is_guest(user)
        if guest is None:
            return "Slack does not know who you are."
        if guest:
            return "Guests cannot act on Chatra visitors."
        policy = self._policy
        if policy.allowed_users:
            allowed = user in policy.allowed_users
            return None if allowed else "Only the people in ALLOWED_USERS act on Chatra visitors."
        members = await self._members()
        if members is None:
            return (
                "The bridge cannot tell who may act (Slack would not say who is in the channel):"
                " an admin updates the app from manifest.yml."
            )
        if user in members:
            return None
        if policy.allowed_usergroup:
            return (
                f"Only the members of {mention(policy.allowed_usergroup)} act on Chatra visitors."
            )
        channels = " or ".join(f"<#{channel}>" for channel in policy.channels)
        return f"Only the members of {channels} act on Chatra visitors: ask to be added."

    async def _members(self) -> set[str] | None:
        now = self._clock()
        if self._known is None or now - self._known[0] > MEMBERS_KEPT:
            group = self._policy.allowed_usergroup
            if group:
                found: set[str] | None = set(await self._slack.group_members(group))
            else:
                found = await self._members_of_channels()
            self._known = (now, found)
        return self._known[1]

    async def _members_of_channels(self) -> set[str] | None:
        """The members of the channels chats are mirrored to, of those Slack will say: one that
        refuses the bot (gone, say) is left out, and shows in /healthz; None when Slack will
        say of none."""
        known = [await self._slack.channel_members(channel) for channel in self._policy.channels]
        told = [members for members in known if members is not None]
        return set().union(*told) if told else None
