"""How fast the team answered over a period, from the figures of its chats: pure functions, so
a test can check them against figures worked out by hand."""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.core.rules.schedule import BusinessHours
from storage import ChatFigures


def percentile(values: Iterable[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` 0.5 for the median); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Spread:
    """p50, p90 and max of some durations, in seconds (None: nothing to measure)."""

    p50: float | None
    p90: float | None
    most: float | None

    @classmethod
    def of(cls, values: list[float]) -> "Spread":
        return cls(percentile(values, 0.5), percentile(values, 0.9), max(values, default=None))


@dataclass(frozen=True)
class Group:
    """The chats one agent answered first, or one channel had."""

    name: str
    chats: int
    first_response_p50: float | None


@dataclass(frozen=True)
class Summary:
    chats: int
    answered: int
    never_answered: int  # the visitor wrote, nobody answered
    first_response: Spread  # all hours
    first_response_business: Spread | None  # business hours only; None without BUSINESS_HOURS
    to_done_p50: float | None  # from the visitor's first message to done
    by_agent: list[Group]
    by_channel: list[Group]
    slowest: list[ChatFigures]  # the three answered slowest, or not at all (oldest first)
    rated: int = 0  # chats the visitor rated
    rated_low: int = 0  # ... at or below RATING_ALERT_AT


def summarise(chats: list[ChatFigures], hours: BusinessHours | None, now: float) -> Summary:
    """The figures of `chats` (those of a period), as `/chatra stats` and the digest show them."""
    answered = [c for c in chats if c.first_response is not None]
    waiting = [c for c in chats if c.started_at is not None and c.first_response is None]
    times = [c.first_response for c in answered if c.first_response is not None]
    business = None
    if hours is not None:
        business = Spread.of([in_business_hours(c, hours) or 0.0 for c in answered])
    slowest = sorted([*answered, *waiting], key=lambda c: waited(c, now), reverse=True)[:3]
    return Summary(
        chats=len(chats),
        answered=len(answered),
        never_answered=len(waiting),
        first_response=Spread.of(times),
        first_response_business=business,
        to_done_p50=percentile([c.to_done for c in chats if c.to_done is not None], 0.5),
        by_agent=_groups(answered, lambda c: c.first_responder or "?"),
        by_channel=_groups(chats, lambda c: c.channel),
        slowest=slowest,
        rated=sum(1 for c in chats if c.rating is not None),
        rated_low=sum(c.rating_low for c in chats),
    )


def waited(chat: ChatFigures, now: float) -> float:
    """How long the visitor waited for a first answer: so far, when there is none yet."""
    if chat.first_response is not None:
        return chat.first_response
    return now - (chat.started_at or chat.opened_at)


def in_business_hours(chat: ChatFigures, hours: BusinessHours) -> float | None:
    """The first response's time within business hours; None: not answered."""
    if chat.started_at is None or chat.first_response_at is None:
        return None
    return hours.seconds_open(chat.started_at, chat.first_response_at)


def _groups(chats: list[ChatFigures], key: Callable[[ChatFigures], str]) -> list[Group]:
    grouped: dict[str, list[ChatFigures]] = {}
    for chat in chats:
        grouped.setdefault(key(chat), []).append(chat)
    groups = [
        Group(
            name,
            len(members),
            percentile([c.first_response for c in members if c.first_response is not None], 0.5),
        )
        for name, members in grouped.items()
    ]
    return sorted(groups, key=lambda group: (-group.chats, group.name))
