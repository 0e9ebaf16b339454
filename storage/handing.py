"""Units of work on their way from the event loop to a database thread and back, for both
backends: a thread takes every unit that waits (up to a batch) at once, and hands all their
outcomes back with one call to the loop."""

import asyncio
import contextlib
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from storage.database import Kind


@dataclass
class Handed:
    """A unit of work waiting for a database thread."""

    name: str
    work: Callable[[], Any]
    kind: Kind
    future: asyncio.Future[Any]
    queued: float = field(default_factory=time.perf_counter)
    result: Any = None
    error: BaseException | None = None

    @property
    def writes(self) -> bool:
        return self.kind != "read"


Units = queue.SimpleQueue[Handed | None]  # None: the thread taking from it is to end


def take(units: Units, most: int, threads: int = 1) -> list[Handed] | None:
    """The next unit and its share of the others waiting (shared with the other `threads`
    taking from `units`), up to `most`; None once closing. Blocks."""
    first = units.get()
    if first is None:
        return None
    batch = [first]
    most = min(most, 1 + units.qsize() // threads)
    while len(batch) < most:
        try:
            more = units.get_nowait()
        except queue.Empty:
            break
        if more is None:
            units.put(None)  # closing: after this batch
            break
        batch.append(more)
    return batch


def hand_back(batch: list[Handed]) -> None:
    """From the database thread: each unit's outcome, in one call to the loop."""
    if batch:
        with contextlib.suppress(RuntimeError):  # its loop is gone: nobody waits any more
            batch[0].future.get_loop().call_soon_threadsafe(_settle, batch)


def _settle(batch: list[Handed]) -> None:
    """On the loop: each unit's outcome to whoever awaits it (unless they stopped waiting)."""
    for unit in batch:
        if unit.future.done():
            continue
        if unit.error is not None:
            unit.future.set_exception(unit.error)
        else:
            unit.future.set_result(unit.result)
