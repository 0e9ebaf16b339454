"""Imported by every Python process started with this directory on PYTHONPATH (see
`tests/at_time.py`): its wall clock moves by TEST_CLOCK_OFFSET seconds and ticks on from
there, the same offset in each process, so they agree on the time. Monotonic clocks, and with
them every timed wait, are left alone."""

import os
import time

_offset = os.environ.get("TEST_CLOCK_OFFSET")
if _offset:
    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
