"""A fake Membrane API running the Chatra connector's actions with Chatra's input rules.

`POST /connections/{id}/actions/{key}/run` with the input as body; success is
`{"output": ..., "actionRunId": ...}`, failure a non-2xx `{"type": ..., "message": ...}`.
"""

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.server import FakeServer

API_VERSION = "2025-10-21"


# Each action's input as the Chatra connector declares it: (required, optional), see chatra.md.
INPUTS = {
    "send-agent-message": (("clientId", "text"), ("agentId",)),
    "get-message": (("messageId",), ()),
    "edit-agent-message": (("messageId", "text"), ()),
    "delete-agent-message": (("messageId",), ()),
    "send-pushed-message": (("clientId", "text"), ("agentId", "groupId")),
    "get-pushed-message": (("messageId",), ()),
    "edit-pushed-message": (("messageId", "text"), ()),
    "delete-pushed-message": (("messageId",), ()),
    "get-client": (("clientId",), ()),
    "update-client": (("clientId",), ("name", "email", "phone", "notes")),
}


@dataclass
class Fault:
    action: str | None  # None: any action
    status: int = 503
    type: str = "internal"
    message: str = "fault injected"
    hang: float = 0.0  # seconds to wait before answering (a timeout for the client)
    reset: bool = False  # drop the connection without an answer
    skip: int = 0  # let this many matching runs through first


class FakeMembrane(FakeServer):
    def __init__(self, connection_id: str, tokens: set[str] | None = None) -> None:
        super().__init__()
        self.connection_id = connection_id
        self.tokens = tokens  # None: any JWT-shaped token is accepted
        self.runs: list[tuple[str, dict[str, Any]]] = []  # every action that ran, in order
        self.requests = 0
        self.faults: list[Fault] = []
        self.clients: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}  # what the visitor sees in Chatra
        self.pushed: dict[str, dict[str, Any]] = {}
        self.latency = 0.0  # seconds between running an action and answering: a kill lands there
        self.in_flight = self.most_in_flight = 0  # runs answered later, now and at most
        self.echo_to: str | None = None  # a webhook URL: Chatra echoes every agent message there
        self.echo_delay = 0.1
        self.on_run: Callable[[str, dict[str, Any]], None] | None = None  # told of every run
        self._echoes: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self.app.router.add_post("/connections/{cid}/actions/{key}/run", self._run)
        self.app.router.add_get("/connections/{cid}", self._connection)
        self.app.router.add_get("/connections/{cid}/actions/{key}", self._action)
        self.disconnected = False  # Chatra's authorisation lapsed: the user must reconnect

    def fail_next(self, action: str | None = None, *, times: int = 1, **fault: Any) -> None:
        self.faults += [Fault(action, **fault) for _ in range(times)]

    def runs_of(self, action: str) -> list[dict[str, Any]]:
        return [payload for key, payload in self.runs if key == action]

    def visible_messages(self, client_id: str) -> list[str]:
        """What the visitor sees: agent messages that were not deleted, in order."""
        return [m["text"] for m in self.messages.values() if m["clientId"] == client_id]

    def _refusal(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token.count(".") != 2 or (self.tokens is not None and token not in self.tokens):
            return _fail(401, "unauthorized", "Invalid or missing token")
        if request.match_info["cid"] != self.connection_id:
            return _fail(404, "not_found", "Connection not found")
        return None

    async def _connection(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        return web.json_response(
            {
                "id": self.connection_id,
                "name": "Chatra",
                "integration": {"key": "chatra"},
                "disconnected": self.disconnected,
            }
        )

    async def _action(self, request: web.Request) -> web.Response:
        """An action's definition, with the input schema the connector declares."""
        refused = self._refusal(request)
        if refused is not None:
            return refused
        key = request.match_info["key"]
        if key not in INPUTS:
            return _fail(404, "not_found", f"Action {key} not found")
        required, optional = INPUTS[key]
        properties = {name: {"type": "string"} for name in (*required, *optional)}
        schema = {"type": "object", "properties": properties, "required": list(required)}
        return web.json_response({"key": key, "name": key, "inputSchema": schema})

    async def _run(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        key = request.match_info["key"]
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or token.count(".") != 2:
            return _fail(401, "unauthorized", "Invalid or missing token")
        if self.tokens is not None and token not in self.tokens:
            return _fail(401, "unauthorized", "Token is not valid")
        if request.headers.get("membrane-api-version") != API_VERSION:
            return _fail(400, "bad_request", "Unsupported membrane-api-version")
        fault = next((f for f in self.faults if f.action in (None, key)), None)
        if fault is not None and fault.skip:
            fault.skip -= 1
        elif fault is not None:
            self.faults.remove(fault)
            if fault.hang:
                await asyncio.sleep(fault.hang)
            if fault.reset:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            return _fail(fault.status, fault.type, fault.message)
        if request.match_info["cid"] != self.connection_id:
            return _fail(404, "not_found", "Connection not found")
        if self.disconnected:
            return _fail(400, "connection", "Connection is disconnected: reconnect it")
        action = getattr(self, "_" + key.replace("-", "_"), None)
        if action is None:
            return _fail(404, "not_found", f"Action {key} not found")
        try:
            payload = await request.json()
        except ValueError:
            return _fail(400, "bad_request", "Body is not JSON")
        if not isinstance(payload, dict):
            return _fail(400, "bad_request", "Input must be an object")
        try:
            output = action(payload)
        except ActionFailure as failure:
            return _fail(failure.status, failure.type, failure.message)
        self.runs.append((key, payload))
        if self.on_run is not None:
            self.on_run(key, payload)
        if self.latency:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            await asyncio.sleep(self.latency)
            self.in_flight -= 1
        return web.json_response({"output": output, "actionRunId": f"run-{next(self._ids)}"})

    # -- the actions, with Chatra's rules --

    def _send_agent_message(self, data: dict[str, Any]) -> dict[str, Any]:
        client_id = _required(data, "clientId")
        text = _text(data)
        message = {
            "id": self._new_id("msg"),
            "type": "agent",
            "clientId": client_id,
            "agentId": data.get("agentId"),
            "text": text,
            "createdAt": int(time.time() * 1000),
            "receivedFrom": "api",
        }
        self.messages[message["id"]] = message
        if self.echo_to:
            task = asyncio.create_task(self._echo(message))
            self._echoes.add(task)
            task.add_done_callback(self._echoes.discard)
        return message

    async def _echo(self, message: dict[str, Any]) -> None:
        """Chatra reports the agent message back in a chatFragment, retrying a down receiver."""
        await asyncio.sleep(self.echo_delay)
        echo = {
            "id": message["id"],
            "type": "agent",
            "message": message["text"],
            "agentId": message["agentId"],
            "createdAt": message["createdAt"],
        }
        body = {
            "eventName": "chatFragment",
            "client": {"id": message["clientId"]},
            "messages": [echo],
        }
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.post(self.echo_to, json=body) as response:
                        if response.status < 300:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

    def _edit_agent_message(self, data: dict[str, Any]) -> dict[str, Any]:
        message = self._message(data)
        message["text"] = _text(data)
        return message

    def _delete_agent_message(self, data: dict[str, Any]) -> dict[str, Any]:
        message = self._message(data)
        del self.messages[message["id"]]
        return {"id": message["id"], "deleted": True}

    def _get_message(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._message(data)

    def _get_client(self, data: dict[str, Any]) -> dict[str, Any]:
        client_id = _required(data, "clientId")
        if client_id not in self.clients:
            raise ActionFailure(404, "dependency_error", "Chatra: client not found")
        return self.clients[client_id]

    def _update_client(self, data: dict[str, Any]) -> dict[str, Any]:
        client = self._get_client(data)
        for name in ("name", "email", "phone", "notes"):
            if name in data:
                client[name] = data[name]
        return client

    def _send_pushed_message(self, data: dict[str, Any]) -> dict[str, Any]:
        client_id = _required(data, "clientId")
        message = {
            "id": self._new_id("push"),
            "clientId": client_id,
            "text": _text(data, 5000),
            "agentId": data.get("agentId"),
            "groupId": data.get("groupId"),
        }
        self.pushed[message["id"]] = message
        return message

    def _get_pushed_message(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._pushed(data)

    def _edit_pushed_message(self, data: dict[str, Any]) -> dict[str, Any]:
        message = self._pushed(data)
        message["text"] = _text(data, 5000)
        return message

    def _delete_pushed_message(self, data: dict[str, Any]) -> dict[str, Any]:
        message = self._pushed(data)
        del self.pushed[message["id"]]
        return {"id": message["id"], "deleted": True}

    def _message(self, data: dict[str, Any]) -> dict[str, Any]:
        message_id = _required(data, "messageId")
        if message_id not in self.messages:
            raise ActionFailure(404, "dependency_error", "Chatra: message not found")
        return self.messages[message_id]

    def _pushed(self, data: dict[str, Any]) -> dict[str, Any]:
        message_id = _required(data, "messageId")
        if message_id not in self.pushed:
            raise ActionFailure(404, "dependency_error", "Chatra: pushed message not found")
        return self.pushed[message_id]

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"


class ActionFailure(Exception):
    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def _required(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ActionFailure(400, "bad_request", f"Input validation failed: {name} is required")
    return value


def _text(data: dict[str, Any], limit: int | None = None) -> str:
    """Chatra documents 1-5000 characters for pushed messages; no limit for agent messages."""
    text = _required(data, "text")
    if limit is not None and len(text) > limit:
        raise ActionFailure(400, "bad_request", f"Input validation failed: text over {limit} chars")
    return text


def _fail(status: int, type_: str, message: str) -> web.Response:
    return web.json_response({"type": type_, "message": message}, status=status)
