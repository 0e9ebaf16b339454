"""Socket Mode in the fake Slack: a websocket that carries envelopes (events, commands,
interactions) to the app, each acked by its envelope_id."""

import itertools
import json
from typing import Any

import aiohttp
from aiohttp import web


class SocketMode:
    def __init__(self, app: web.Application) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: list[dict[str, Any]] = []
        self._envelopes = itertools.count(1)
        app.router.add_get("/socket-mode", self._socket_mode)

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.acks.append(json.loads(frame.data))
        self.sockets.remove(ws)
        return ws

    async def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Send an `events_api` / `slash_commands` / `interactive` envelope; returns its id."""
        envelope_id = f"env-{next(self._envelopes)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
        }
        await self.sockets[-1].send_json(envelope)
        return envelope_id
