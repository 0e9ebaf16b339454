"""Run the suite (or any pytest arguments) with every Python process's clock moved to the next
given weekday and time, UTC: a test that depends on the day or the hour fails here.

    python -m tests.at_time "mon 10:00"            # the whole suite, on a Monday morning
    python -m tests.at_time "sun 23:30" -k digest  # pytest's own arguments follow

Each process (pytest, its workers, every `chatra-bridge` a test starts) imports
`tests/shifted_clock/sitecustomize.py`, which moves its clock by the same offset with
time-machine. PostgreSQL keeps the real time."""

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHIFTED = Path(__file__).parent / "shifted_clock"


def next_moment(when: str, now: datetime) -> datetime:
    """The next `"<weekday> HH:MM"` (UTC) after `now`."""
    day, clock = when.lower().split()
    hour, minute = (int(part) for part in clock.split(":"))
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    moment += timedelta(days=(DAYS.index(day[:3]) - now.weekday()) % 7)
    return moment if moment > now else moment + timedelta(days=7)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    now = datetime.now(UTC)
    moment = next_moment(argv[0], now)
    env = dict(os.environ, TEST_CLOCK_OFFSET=str((moment - now).total_seconds()))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SHIFTED), env.get("PYTHONPATH")]))
    print(f"every process's clock at {moment:%a %d %b %Y %H:%M} UTC", flush=True)
    command = [sys.executable, "-m", "pytest", *argv[1:]]
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
