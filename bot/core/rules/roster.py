"""Who is on call right now: the people set with /chatra oncall, or this week's person of the
rotation. User groups (ids starting with S) stand for their members."""

from collections.abc import Callable
from datetime import time
from typing import Any

from bot.core.rules.schedule import Rotation
from storage import OnCall


class Roster:
    def __init__(self, on_call: OnCall, clock: Callable[[], float]) -> None:
        self._store = on_call
        self._clock = clock

    async def people(self) -> list[str]:
        rotation = await self.rotation()
        return [rotation.on_call(self._clock())] if rotation else await self._store.people()

    def people_now(self) -> list[str]:
        """The same, on the database's thread (inside another unit of work)."""
        rotation = _rotation(self._store.rotation.now())
        return [rotation.on_call(self._clock())] if rotation else self._store.people.now()

    async def set(self, people: list[str]) -> None:
        await self._store.set(people)

    async def rotation(self) -> Rotation | None:
        return _rotation(await self._store.rotation())

    async def rotate(self, rotation: Rotation) -> bool:
        """Start `rotation`, unless the same plan already runs (its turn order then stands)."""
        current = await self.rotation()
        if current is not None and current.same_plan(rotation):
            return False
        await self._store.set_rotation(
            {
                "people": list(rotation.people),
                "handover_day": rotation.handover_day,
                "handover_at": f"{rotation.handover_at:%H:%M}",
                "timezone": rotation.timezone,
                "anchor": rotation.anchor,
            }
        )
        return True


def _rotation(row: dict[str, Any] | None) -> Rotation | None:
    if row is None:
        return None
    hours, minutes = map(int, row["handover_at"].split(":"))
    return Rotation(
        people=tuple(row["people"]),
        handover_day=row["handover_day"],
        handover_at=time(hours, minutes),
        timezone=row["timezone"],
        anchor=row["anchor"],
    )
