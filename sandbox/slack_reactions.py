"""Reactions in the fake Slack, as Slack keeps them: by name, with who reacted (the bot through
reactions.add and .remove, people through what a test says they did), read with reactions.get."""

from typing import Any

from aiohttp import web

from sandbox.slack_wire import BOT_USER_ID, Posted, error, ok


class Reactions:
    """The reactions API; the fake Slack finds its messages with `_find`."""

    def _find(self, channel: str, ts: str) -> Posted | None:
        raise NotImplementedError

    def person_reacted(self, channel: str, ts: str, name: str, user: str, on: bool = True) -> None:
        """A person adds (or, `on` false, takes off) a reaction: the test sends the event."""
        posted = self._find(channel, ts)
        assert posted is not None, f"no message {channel}/{ts}"
        users = posted.people.setdefault(name, set())
        (users.add if on else users.discard)(user)

    async def _reactions_add(self, args: dict[str, Any]) -> web.Response:
        posted = self._find(args.get("channel", ""), args.get("timestamp", ""))
        if posted is None:
            return error("message_not_found")
        if args.get("name") in posted.reactions:
            return error("already_reacted")
        posted.reactions.add(args.get("name", ""))
        return ok()

    async def _reactions_remove(self, args: dict[str, Any]) -> web.Response:
        posted = self._find(args.get("channel", ""), args.get("timestamp", ""))
        if posted is None:
            return error("message_not_found")
        if args.get("name") not in posted.reactions:
            return error("no_reaction")
        posted.reactions.discard(args.get("name", ""))
        return ok()

    async def _reactions_get(self, args: dict[str, Any]) -> web.Response:
        """The message with its reactions: each name, who reacted and how many."""
        posted = self._find(args.get("channel", ""), args.get("timestamp", ""))
        if posted is None:
            return error("message_not_found")
        by_name = {name: set(users) for name, users in posted.people.items() if users}
        for name in posted.reactions:
            by_name.setdefault(name, set()).add(BOT_USER_ID)
        reactions = [
            {"name": name, "users": sorted(users), "count": len(users)}
            for name, users in sorted(by_name.items())
        ]
        message = {"type": "message", "ts": posted.ts, "text": posted.text, "reactions": reactions}
        return ok(type="message", channel=posted.channel, message=message)
