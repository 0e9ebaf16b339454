"""What the worker is told of between its looks at the inbox: the events intake stored (and
the lanes it took for them), or that it should look at every pending one."""

import asyncio
from dataclasses import dataclass, field

from storage import Claimed


@dataclass
class Told:
    """What the worker was told since it last looked."""

    ids: set[int] = field(default_factory=set)  # events stored
    # lanes intake took for this bridge, each with the event it stored there (those before it
    # may be half done, when the lane was taken over)
    claims: list[tuple[Claimed, int]] = field(default_factory=list)
    unclaimed: bool = False  # events whose lane may have to be claimed (another bridge's)
    everything: bool = False  # some events may be stored, unknown which: look at every one


class Arrivals:
    """What the worker is told: the events stored since it last looked (by id: this bridge's
    intake, with the lane it took for them, or another's through the database), or to look at
    every pending one."""

    def __init__(self) -> None:
        self._told = Told()
        self._event = asyncio.Event()

    def stored(self, event_id: int | None, claimed: Claimed | None = None) -> None:
        """Event `event_id` is stored, in a lane intake took for this bridge (`claimed`) or
        not; None: some may be, unknown which (a replay, a lost notification)."""
        if event_id is None:
            self._told.everything = True
        else:
            self._told.ids.add(event_id)
        if claimed is None:
            self._told.unclaimed = True
        else:
            self._told.claims.append((claimed, event_id or 0))
        self._event.set()

    def wake(self) -> None:
        """Nothing new, but worth looking again (room was made)."""
        self._event.set()

    def take(self) -> Told:
        told, self._told = self._told, Told()
        self._event.clear()
        return told

    async def wait(self, longest: float) -> None:
        """Until told something or `longest` seconds pass. Not `asyncio.wait_for`: on 3.11 it
        can swallow a cancellation that lands as the wait ends, and then a stop never ends."""
        told = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait([told], timeout=longest)
        finally:
            told.cancel()
