"""Figures as Slack shows them: `/chatra stats`, the digest, the chart's text fallback."""

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.slack_ui.blocks import SlackMessage
from bot.core.stats.summary import Group, Spread, Summary, waited

LinkOf = Callable[[str, str], str]  # (channel, thread ts) -> a link that opens the thread


def duration(seconds: float | None) -> str:
    """`45s`, `12m`, `2h 5m`, `3d 4h`; an em dash for nothing measured."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours = seconds // 60, seconds // 3600
    if hours == 0:
        rest = seconds % 60
        return f"{minutes}m" + (f" {rest}s" if rest and minutes < 10 else "")
    if hours < 24:
        return f"{hours}h" + (f" {minutes % 60}m" if minutes % 60 else "")
    return f"{hours // 24}d" + (f" {hours % 24}h" if hours % 24 else "")


def spread(values: Spread) -> str:
    return f"p50 {duration(values.p50)} · p90 {duration(values.p90)} · max {duration(values.most)}"


def summary_lines(
    summary: Summary,
    names: dict[str, str],
    link: LinkOf,
    now: float,
    timezone: str,
    before: Summary | None = None,
) -> list[str]:
    """The lines of a summary; `names` says who each Slack user id is; with `before` (the
    period before), how each headline figure moved."""
    lines = [
        f"Chats: *{summary.chats}*{_change(summary.chats, before and before.chats)}"
        f" · answered: {summary.answered}{_change(summary.answered, before and before.answered)}"
        f" · never answered: {summary.never_answered}"
        f"{_change(summary.never_answered, before and before.never_answered)}",
        f"First response: {spread(summary.first_response)} (all hours)"
        + _was(before and before.first_response),
    ]
    if summary.first_response_business is not None:
        lines.append(
            f"In business hours: {spread(summary.first_response_business)}"
            + _was(before and before.first_response_business)
        )
    done_before = f" (was {duration(before.to_done_p50)})" if before else ""
    lines.append(f"Time to done: p50 {duration(summary.to_done_p50)}{done_before}")
    lines.append(f"Ratings: {summary.rated} · low: {summary.rated_low}")
    if summary.by_agent:
        lines.append("By agent (first answers): " + _groups(summary.by_agent, names))
    if len(summary.by_channel) > 1:
        channels = {group.name: f"<#{group.name}>" for group in summary.by_channel}
        lines.append("By channel: " + _groups(summary.by_channel, channels))
    if summary.slowest:
        tz = ZoneInfo(timezone)
        slow = []
        for chat in summary.slowest:
            began = datetime.fromtimestamp(chat.started_at or chat.opened_at, tz)
            how = "" if chat.first_response is not None else " (not answered yet)"
            label = f"{began:%a %d %b %H:%M}"
            slow.append(
                f"<{link(chat.channel, chat.thread_ts)}|{label}> {duration(waited(chat, now))}{how}"
            )
        lines.append("Slowest: " + " · ".join(slow))
    return lines


def stats_message(title: str, lines: list[str]) -> SlackMessage:
    text = f"*{title}*\n" + "\n".join(lines)
    return SlackMessage(
        text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    )


def _groups(groups: list[Group], names: dict[str, str]) -> str:
    shown = [
        f"{names.get(g.name, g.name)} {g.chats} (p50 {duration(g.first_response_p50)})"
        for g in groups[:8]
    ]
    return " · ".join(shown)


def _change(now: int, before: int | None) -> str:
    if before is None:
        return ""
    return f" ({now - before:+d})"


def _was(before: Spread | None) -> str:
    """The period before's p50 and p90, when there is one to compare with."""
    if before is None or before.p50 is None:
        return ""
    return f"; the week before p50 {duration(before.p50)} · p90 {duration(before.p90)}"
