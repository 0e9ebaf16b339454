"""How fast the team answers: `/chatra stats`, the weekly digest, App Home's chart."""

import asyncio
import re
from datetime import datetime, time, timedelta
from typing import Any

from bot.core.context import Context
from bot.core.ports import FilePort
from bot.core.posting import post_keys
from bot.core.rules.schedule import zone
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.views import thread_link
from bot.core.stats.chart import chart_blocks, png
from bot.core.stats.summary import Summary, summarise
from bot.core.stats.texts import stats_message, summary_lines
from bot.core.wire.text import plain_to_slack
from storage import ChatFigures

PERIOD = re.compile(r"(today|(\d{1,3})d)")
PERIOD_USAGE = "`/chatra stats [today | 7d | 30d] [share]`"
DIGEST_LATE = 12 * 3600  # seconds after its time a digest is still posted (a bridge was down)
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")


class Stats:
    def __init__(self, context: Context, files: FilePort) -> None:
        self._files = files
        self._figures, self._facts, self._slack = (
            context.store.figures,
            context.store.facts,
            context.slack,
        )
        self._posts, self._clock = context.posts, context.clock
        policy = context.policy
        self._hours, self._timezone, self._channel = (
            policy.opening_hours,
            policy.timezone,
            policy.channel,
        )
        self._digest_at = policy.digest_at
        self._digest_posted: datetime | None = None  # the last one this bridge saw posted

    async def command(self, args: str) -> SlackMessage:
        """`/chatra stats [today | 7d | 30d]`: the figures of the period (7 days by default)."""
        words = args.split()
        found = PERIOD.fullmatch(words[0]) if words else None
        if words and (found is None or found[0] == "0d"):
            return SlackMessage(f"Usage: {PERIOD_USAGE}")
        now = self._clock()
        since, title = self._since(found[0] if found else "7d", now)
        summary = await self._summary(since, now)
        lines = await self._lines(summary, now)
        return stats_message(title, lines if summary.chats else ["No chats in this period."])

    async def digest(self) -> None:
        """The weekly digest, once per scheduled time whatever the number of bridges (its post
        is keyed by the time): the last 7 days against the 7 before. Posted late (a restart, an
        outage) only by a bridge whose database was served before it was due: a new install
        does not open with the digest of a week it never saw."""
        if self._digest_at is None:
            return
        now = self._clock()
        due = self._digest_at.latest(now)
        if due == self._digest_posted or now - due.timestamp() > DIGEST_LATE:
            return
        if due.timestamp() < await self._facts.served_since():
            self._digest_posted = due  # never: nothing to look at again
            return
        start = due.timestamp()
        week = timedelta(days=7).total_seconds()
        summary = await self._summary(start - week, start)
        before = await self._summary(start - 2 * week, start - week)
        lines = await self._lines(summary, now, before)
        title = f"Support this week (7 days to {due:%a %d %b %H:%M})"
        message = stats_message(title, lines if summary.chats else ["No chats this week."])
        await self._posts.post(post_keys.digest(f"{due:%Y-%m-%dT%H:%M}"), self._channel, message)
        self._digest_posted = due  # by this bridge or another: the key tells

    async def days(self, count: int) -> list[tuple[str, list[ChatFigures]]]:
        """The chats of each of the last `count` local days, oldest first, labelled."""
        tz = zone(self._timezone)
        today = datetime.fromtimestamp(self._clock(), tz).date()
        dates = [today - timedelta(days=count - 1 - n) for n in range(count + 1)]  # and tomorrow
        starts = [datetime.combine(date, time(), tz).timestamp() for date in dates]
        chats = await self._figures.opened_between(starts[0], starts[-1])
        return [
            (f"{date:%d %b}", [c for c in chats if starts[n] <= c.opened_at < starts[n + 1]])
            for n, date in enumerate(dates[:-1])
        ]

    async def chart(self, count: int = 14) -> list[dict[str, Any]]:
        """App Home's chart of the last `count` days: a PNG under PUBLIC_URL, or text bars."""
        days = await self.days(count)
        image = await asyncio.to_thread(png, days)  # a few ms of drawing: off the event loop
        return chart_blocks(days, await self._files.keep("chart.png", image))

    def _since(self, period: str, now: float) -> tuple[float, str]:
        if period == "today":
            tz = zone(self._timezone)
            midnight = datetime.combine(datetime.fromtimestamp(now, tz).date(), time(), tz)
            return midnight.timestamp(), "Chats today"
        days = int(period.removesuffix("d"))
        return now - days * 86400, f"Chats in the last {days} days"

    async def _summary(self, since: float, until: float) -> Summary:
        chats = await self._figures.opened_between(since, until)
        return summarise(chats, self._hours, until)

    async def _lines(
        self, summary: Summary, now: float, before: Summary | None = None
    ) -> list[str]:
        names = {}  # a Slack user by name; a Chatra agent's name as it is; escaped for Slack
        for group in summary.by_agent:
            name = group.name
            if SLACK_USER.fullmatch(name):
                name = await self._slack.user_name(name) or name
            names[group.name] = plain_to_slack(name)
        workspace = self._slack.workspace_url

        def link(channel: str, ts: str) -> str:
            return thread_link(channel, ts, workspace)

        return summary_lines(summary, names, link, now, self._timezone, before)
