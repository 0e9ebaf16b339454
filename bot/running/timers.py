"""What the bridge that leads does now and then: named jobs, each run every so often. A job that
fails is tried again at its next round: one log line when what it needs is down, a traceback
only for what nobody expected."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.clients.failure_kinds import worth_waiting
from bot.config import Settings
from bot.running.wiring import Core
from storage.coordination import Leadership

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[object]]
FILES_PRUNED_EVERY = 3600.0  # seconds: shared files past their days or the size cap


async def every(leader: Leadership, interval: float, name: str, job: Job) -> None:
    """Run `job` every `interval` seconds while this bridge leads, until cancelled."""
    async for _ in leader.rounds(interval):
        try:
            await job()
        except Exception as error:
            if worth_waiting(error):  # Slack or the database down a while: no traceback a round
                log.warning("%s waits: %s (%s)", name, type(error).__name__, error)
            else:
                log.exception("%s failed", name)


def at_most_every(seconds: float, job: Job) -> Job:
    """`job`, skipped when it ran less than `seconds` ago (the first round runs it)."""
    next_run = 0.0

    async def now_and_then() -> None:
        nonlocal next_run
        if time.monotonic() >= next_run:
            await job()
            next_run = time.monotonic() + seconds

    return now_and_then


def leader_jobs(core: Core, settings: Settings) -> dict[str, tuple[float, Job]]:
    """The jobs by name, with how often each runs."""
    often = settings.escalation_check_seconds
    return {
        "probing Chatra for held replies": (
            settings.membrane_probe_interval,
            core.door.held.probe,
        ),
        "escalating waiting visitors": (often, core.runtime.escalation.check),
        "telling of failed events": (often, core.runtime.reports.failed_events),
        "telling of outages over": (often, core.runtime.reports.recoveries),
        "pruning shared files": (often, at_most_every(FILES_PRUNED_EVERY, core.edges.files.prune)),
        "posting the weekly digest": (often, core.door.stats.digest),
        "keeping undecided mentions as notes": (often, core.door.mentions.expire),
        "telling Chatra who is online": (often, core.door.online.ping),
    }


def start(core: Core, settings: Settings, leader: Leadership) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(every(leader, interval, name, job), name=name)
        for name, (interval, job) in leader_jobs(core, settings).items()
    ]
