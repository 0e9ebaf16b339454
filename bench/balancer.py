"""A load balancer in front of several bridges, as a team running more than one has: each request
goes to a bridge picked at random, and to another when that one does not answer."""

import random

import aiohttp
from aiohttp import web

from sandbox.server import serve_locally

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class Balancer:
    def __init__(self, upstreams: list[str], seed: int = 1) -> None:
        self.upstreams = upstreams
        self.url = ""
        self._rng = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.sent = dict.fromkeys(upstreams, 0)  # requests each bridge answered

    async def start(self) -> "Balancer":
        app = web.Application(client_max_size=2 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        timeout = aiohttp.ClientTimeout(total=30, sock_connect=1)
        self._http = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        self._runner, self.url = await serve_locally(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        for upstream in self._rng.sample(self.upstreams, len(self.upstreams)):
            try:
                async with self._http.request(
                    request.method, upstream + request.path_qs, data=body, headers=headers
                ) as answer:
                    payload = await answer.read()
                    kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
                    self.sent[upstream] += 1
                    return web.Response(status=answer.status, body=payload, headers=kept)
            except (TimeoutError, aiohttp.ClientError):
                continue  # down: the next one
        return web.Response(status=502, text="no bridge answers")
