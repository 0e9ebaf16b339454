"""Running a fake service: a real aiohttp server on 127.0.0.1 with a free port."""

import asyncio
import inspect
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web


async def serve_locally(app: web.Application, port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve `app` on `port` of 127.0.0.1 (0: a free one); returns the runner and the base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def wait_for(
    condition: Callable[[], Any], within: float = 5.0, what: str = "condition"
) -> Any:
    """Poll `condition()` (a function, or one that returns an awaitable) until it gives something
    truthy; TimeoutError with what it last gave when `within` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise TimeoutError(f"{what} not met within {within:g}s (last: {result!r})")
        await asyncio.sleep(0.02)


class FakeServer:
    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_post("/echo", _echo)  # a bare round trip, for the bench's floor
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, port: int = 0) -> "FakeServer":
        self._runner, self.url = await serve_locally(self.app, port)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def _echo(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True})


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on now (a server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
