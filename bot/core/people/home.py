"""The App Home tab's content: open chats and how the bridge is doing, for those who may act on
visitors; anyone else reads one line saying whom to ask."""

from typing import Any

from bot.core.context import Context
from bot.core.people.access import Access
from bot.core.people.online import Online
from bot.core.people.open_chats import describe, open_chats
from bot.core.slack_ui.blocks import mention
from bot.core.slack_ui.views import home_view, home_view_refused
from bot.core.stats.team_stats import Stats


class Home:
    def __init__(self, context: Context, stats: Stats, access: Access, online: Online) -> None:
        self._stats, self._access, self._online = stats, access, online
        store = context.store
        self._threads, self._waits, self._messages = store.threads, store.waits, store.messages
        self._inbox = store.inbox
        self._on_call, self._slack = context.on_call, context.slack
        self._clock = context.clock

    async def view(self, user: str) -> dict[str, Any]:
        """The tab as `user` sees it: visitors' names, who is on call and errors only for the
        team."""
        refusal = await self._access.refusal(user)
        if refusal is not None:
            return home_view_refused(refusal)
        workspace = self._slack.workspace_url
        chats = await open_chats(self._threads, self._waits, self._clock(), workspace, limit=30)
        held = len(await self._messages.held())
        pending, failed = await self._inbox.count("pending"), await self._inbox.count("failed")
        health = [
            f":red_circle: Chatra disconnected in Membrane: {held} replies held"
            if held
            else ":large_green_circle: Chatra reachable through Membrane",
            f"Events waiting: {pending} · failed: {failed}",
        ]
        people = await self._on_call.people()
        health.insert(0, "On call: " + (", ".join(map(mention, people)) or "no one"))
        health.insert(1, await self._online.shown())
        last = await self._inbox.last_error()
        if last:
            health.append(f"Last error: {last}")
        chart = await self._stats.chart()
        return home_view([describe(chat) for chat in chats], health, chart)
