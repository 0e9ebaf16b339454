"""Weekly times in a timezone: business hours and the on-call rotation's handover. Pure functions
of a moment (seconds since the epoch), so tests can pass any clock."""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r} (use a name like Europe/Berlin)") from None


def weekday(word: str) -> int:
    day = word.strip().lower()[:3]
    if day not in DAYS:
        raise ValueError(f"{word!r} is not a day of the week")
    return DAYS.index(day)


def clock_time(word: str) -> time:
    found = _CLOCK_TIME.fullmatch(word.strip())
    if not found:
        raise ValueError(f"{word!r} is not a time like 09:00")
    return time(int(found[1]), int(found[2]))


@dataclass(frozen=True)
class BusinessHours:
    days: frozenset[int]
    opens: time
    closes: time
    timezone: str

    @classmethod
    def parse(cls, spec: str, timezone: str) -> "BusinessHours":
        """`mon-fri 09:00-18:00`, or days listed: `mon,wed,fri 08:30-17:00`."""
        words = spec.split()
        if len(words) != 2 or words[1].count("-") != 1:
            raise ValueError(f"{spec!r} is not like 'mon-fri 09:00-18:00': days, then hours")
        day_part, hours = words
        try:
            opens, closes = (clock_time(t) for t in hours.split("-"))
        except ValueError as error:
            raise ValueError(f"{spec!r} is not like 'mon-fri 09:00-18:00' ({error})") from None
        days: set[int] = set()
        for item in day_part.split(","):
            first, _, last = item.partition("-")
            start, end = weekday(first), weekday(last or first)
            days |= {(start + n) % 7 for n in range((end - start) % 7 + 1)}
        if closes <= opens:
            raise ValueError(f"{spec!r}: closing time must be after opening time")
        zone(timezone)
        return cls(frozenset(days), opens, closes, timezone)

    def open_at(self, moment: float) -> bool:
        local = datetime.fromtimestamp(moment, zone(self.timezone))
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def seconds_open(self, start: float, end: float) -> float:
        """How much of [start, end] falls in business hours, in seconds."""
        tz = zone(self.timezone)
        day = datetime.fromtimestamp(start, tz).date()
        last = datetime.fromtimestamp(end, tz).date()
        total = 0.0
        while day <= last:
            if day.weekday() in self.days:
                opens = datetime.combine(day, self.opens, tz).timestamp()
                closes = datetime.combine(day, self.closes, tz).timestamp()
                total += max(0.0, min(end, closes) - max(start, opens))
            day += timedelta(days=1)
        return total

    def __str__(self) -> str:
        ordered = sorted(self.days)
        names = [DAYS[d].capitalize() for d in ordered]
        contiguous = len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1))
        days = f"{names[0]}-{names[-1]}" if contiguous else ", ".join(names)
        return f"{days} {self.opens:%H:%M}-{self.closes:%H:%M} {self.timezone}"


@dataclass(frozen=True)
class WeeklyTime:
    """A moment of each week, local time: `mon 09:00`."""

    day: int
    at: time
    timezone: str

    @classmethod
    def parse(cls, spec: str, timezone: str) -> "WeeklyTime":
        day, _, at = spec.strip().partition(" ")
        zone(timezone)
        return cls(weekday(day), clock_time(at), timezone)

    def latest(self, moment: float) -> datetime:
        """This week's time if `moment` is past it, else last week's."""
        tz = zone(self.timezone)
        local = datetime.fromtimestamp(moment, tz)
        day = (local - timedelta(days=(local.weekday() - self.day) % 7)).date()
        when = datetime.combine(day, self.at, tz)
        return when if when <= local else when - timedelta(days=7)

    def __str__(self) -> str:
        return f"{DAYS[self.day].capitalize()} {self.at:%H:%M} {self.timezone}"


@dataclass(frozen=True)
class Rotation:
    """People on call one week each, in turn; the watch changes at `handover_day` `handover_at`
    local time. `anchor` is the handover that began `people[0]`'s first week."""

    people: tuple[str, ...]
    handover_day: int
    handover_at: time
    timezone: str
    anchor: float

    def on_call(self, moment: float) -> str:
        return self.people[self._weeks_since_anchor(moment) % len(self.people)]

    def next_handover(self, moment: float) -> tuple[datetime, str]:
        """When the watch next changes, and to whom."""
        upcoming = self._last_handover(moment) + timedelta(days=7)
        nxt = self.people[(self._weeks_since_anchor(moment) + 1) % len(self.people)]
        return upcoming, nxt

    def same_plan(self, other: "Rotation") -> bool:
        return (self.people, self.handover_day, self.handover_at, self.timezone) == (
            other.people,
            other.handover_day,
            other.handover_at,
            other.timezone,
        )

    def _weeks_since_anchor(self, moment: float) -> int:
        first = self._last_handover(self.anchor).date()
        return max(0, (self._last_handover(moment).date() - first).days // 7)

    def _last_handover(self, moment: float) -> datetime:
        """The latest handover at or before `moment`, as a local wall-clock time."""
        tz = zone(self.timezone)
        local = datetime.fromtimestamp(moment, tz)
        days_back = (local.weekday() - self.handover_day) % 7
        day = (local - timedelta(days=days_back)).date()
        handover = datetime.combine(day, self.handover_at, tz)
        return handover if handover <= local else handover - timedelta(days=7)


def plan_rotation(people: list[str], handover: str, timezone: str, now: float) -> Rotation:
    """A rotation starting with `people[0]` from the latest handover (`monday 09:00`)."""
    if not people:
        raise ValueError("a rotation needs at least one person")
    day, _, at = handover.strip().partition(" ")
    zone(timezone)
    return Rotation(tuple(people), weekday(day), clock_time(at), timezone, now)
