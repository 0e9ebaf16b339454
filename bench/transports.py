"""bench.perf's transports part: one Membrane action over the HTTP API and through the
`membrane` command."""

import os
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import CONNECTION, MEMBRANE_TOKEN
from bot.clients.membrane import HttpTransport, MembraneClient, TokenSource
from bot.clients.membrane_cli import CliTransport
from sandbox.membrane import FakeMembrane
from sandbox.membrane_cli import install


async def measure_transports(workdir: Path, runs: int) -> dict[str, Any]:
    """The cost of one action (get-client) over Membrane's HTTP API and through the `membrane`
    command. The command here is the sandbox's Python stand-in; the real one starts Node."""
    membrane = await FakeMembrane(CONNECTION).start()
    membrane.clients["c1"] = {"id": "c1", "name": "Jane"}
    command = install(workdir)
    os.environ["FAKE_MEMBRANE_URL"] = membrane.url
    results = {}
    try:
        async with aiohttp.ClientSession() as session:
            tokens = TokenSource(MEMBRANE_TOKEN)
            transports = {
                "http": HttpTransport(
                    session,
                    base_url=membrane.url,
                    connection_id=CONNECTION,
                    tokens=tokens,
                    timeout=15,
                ),
                "cli (stand-in)": CliTransport(
                    str(command), connection_id=CONNECTION, timeout=30, processes=4
                ),
            }
            for name, transport in transports.items():
                client = MembraneClient(transport, attempts=1, base_delay=0, received_from="bench")
                times = []
                for _ in range(runs):
                    began = time.perf_counter()
                    await client.get_client("c1")
                    times.append((time.perf_counter() - began) * 1000)
                results[name] = {
                    "runs": runs,
                    "p50_ms": round(statistics.median(times), 2),
                    "mean_ms": round(statistics.fmean(times), 2),
                }
    finally:
        await membrane.stop()
    return results
