"""A fake Membrane API running the Chatra connector's actions with Chatra's input rules.

`POST /connections/{id}/actions/{key}/run` with the input as body, or `POST /actions/{id}/run?
connectionId=...` with `{"input": ...}`; success is `{"output": ..., "actionRunId": ...}`, failure
a non-2xx `{"type": ..., "message": ...}`.

Realistic by default (see ../shared/reference/chatra.md, "traps"): an action takes its input
only under the names its published schema gives (a test may rename them, or take an action's key
away so it runs by id only); `send-agent-message` is refused without someone to write as; a
visitor's contact details come under `basicInfo`; Chatra's echo of a message sent through the API
has no `id`, its text under `text`, and the sender's `receivedFrom`. `realistic=False` gives the
shapes the bridge first assumed.
"""

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.membrane_agents import ChatraAgents
from sandbox.membrane_wire import (
    API_VERSION,
    INPUTS,
    ONLINE_ACTION,
    ActionFailure,
    Fault,
    fail,
    required,
    text_of,
)
from sandbox.server import FakeServer


class FakeMembrane(ChatraAgents, FakeServer):
    def __init__(
        self, connection_id: str, tokens: set[str] | None = None, *, realistic: bool = True
    ) -> None:
        super().__init__()
        self.realistic = realistic
        self.renamed: dict[str, dict[str, str]] = {}  # action -> REST name -> its input name
        self.output_renamed: dict[str, dict[str, str]] = {}  # action -> output key -> new key
        self.action_ids = {key: f"act{n:04d}{key[:4]}" for n, key in enumerate(INPUTS)}
        self.keyless: set[str] = set()  # actions with an id and no key: reached by id only
        self.absent = {ONLINE_ACTION}  # actions the connection does not have (yet)
        # Chatra's agents (as a webhook lists them), those a ping by an unknown email made up,
        # and who is online until when (time.time())
        self.agents = {"a9": {"name": "Ana", "email": "ana@example.com"}}
        self.dummy_agents: list[str] = []
        self.online_until: dict[str, float] = {}
        self.schema_reads = 0
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
        self.app.router.add_post("/actions/{id}/run", self._run_by_id)
        self.app.router.add_get("/connections/{cid}", self._connection)
        self.app.router.add_get("/connections/{cid}/actions/{key}", self._action)
        self.app.router.add_get("/actions/{id}", self._action_by_id)
        self.disconnected = False  # Chatra's authorisation lapsed: the user must reconnect

    def fail_next(self, action: str | None = None, *, times: int = 1, **fault: Any) -> None:
        self.faults.append(Fault(action, times=times, **fault))

    def rename(self, action: str, **names: str) -> None:
        """The action's schema (and the action) now call these inputs so: `clientId="id"`."""
        self.renamed.setdefault(action, {}).update(names)

    def rename_output(self, action: str, **keys: str) -> None:
        """The action's output keeps these under other keys: `id="messageId"`."""
        self.output_renamed.setdefault(action, {}).update(keys)

    def runs_of(self, action: str) -> list[dict[str, Any]]:
        return [payload for key, payload in self.runs if key == action]

    def visible_messages(self, client_id: str) -> list[str]:
        """What the visitor sees: agent messages that were not deleted, in order."""
        return [m["text"] for m in self.messages.values() if m["clientId"] == client_id]

    def _refusal(self, request: web.Request, connection: str | None = None) -> web.Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token.count(".") != 2 or (self.tokens is not None and token not in self.tokens):
            return fail(401, "unauthorized", "Invalid or missing token")
        if (connection or request.match_info.get("cid")) != self.connection_id:
            return fail(404, "not_found", "Connection not found")
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
        """An action's definition by key, with the schemas the connector declares."""
        refused = self._refusal(request)
        key = request.match_info["key"]
        if refused is None and (key not in INPUTS or key in self.keyless | self.absent):
            refused = fail(404, "not_found", f"Action {key} not found")
        return refused or self._definition(key)

    async def _action_by_id(self, request: web.Request) -> web.Response:
        refused = self._refusal(request, request.query.get("connectionId"))
        key = self._key_of(request.match_info["id"])
        if refused is None and key is None:
            refused = fail(404, "not_found", "Action not found")
        return refused or self._definition(str(key))

    def _key_of(self, selector: str) -> str | None:
        """The action a selector names: its id, or its key when it has one."""
        if selector in INPUTS and selector not in self.keyless:
            key: str | None = selector
        else:
            key = next((key for key, known in self.action_ids.items() if known == selector), None)
        return None if key in self.absent else key

    def _definition(self, key: str) -> web.Response:
        self.schema_reads += 1
        required, optional = self._inputs(key)
        properties = {name: {"type": "string"} for name in (*required, *optional)}
        schema = {"type": "object", "properties": properties, "required": list(required)}
        id_key = self.output_renamed.get(key, {}).get("id", "id")
        output = {"type": "object", "properties": {id_key: {"type": "string"}}}
        return web.json_response(
            {
                "id": self.action_ids[key],
                "key": "" if key in self.keyless else key,
                "name": key,
                "inputSchema": schema,
                "outputSchema": output,
            }
        )

    def _inputs(self, key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The action's (required, optional) inputs under the names its schema gives them."""
        names = self.renamed.get(key, {})
        required, optional = INPUTS[key]
        return tuple(names.get(n, n) for n in required), tuple(names.get(n, n) for n in optional)

    async def _run(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        if key not in INPUTS or key in self.keyless | self.absent:
            return fail(404, "not_found", f"Action {key} not found")
        return await self._answer(request, key, request.match_info["cid"], by_id=False)

    async def _run_by_id(self, request: web.Request) -> web.StreamResponse:
        key = self._key_of(request.match_info["id"])
        connection = request.query.get("connectionId", "")
        if key is None:
            return fail(404, "not_found", "Action not found")
        return await self._answer(request, key, connection, by_id=True)

    async def _answer(
        self, request: web.Request, key: str, connection: str, *, by_id: bool
    ) -> web.StreamResponse:
        self.requests += 1
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or token.count(".") != 2:
            return fail(401, "unauthorized", "Invalid or missing token")
        if self.tokens is not None and token not in self.tokens:
            return fail(401, "unauthorized", "Token is not valid")
        if request.headers.get("membrane-api-version") != API_VERSION:
            return fail(400, "bad_request", "Unsupported membrane-api-version")
        fault = next((f for f in self.faults if f.action in (None, key)), None)
        if fault is not None and fault.skip:
            fault.skip -= 1
        elif fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            if fault.hang:
                await asyncio.sleep(fault.hang)
            if fault.reset:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            return fail(fault.status, fault.type, fault.message)
        if connection != self.connection_id:
            return fail(404, "not_found", "Connection not found")
        if self.disconnected:
            return fail(400, "connection", "Connection is disconnected: reconnect it")
        action = getattr(self, "_" + key.replace("-", "_"))
        try:
            body = await request.json()
        except ValueError:
            return fail(400, "bad_request", "Body is not JSON")
        payload = body.get("input") if by_id and isinstance(body, dict) else body
        if not isinstance(payload, dict):
            return fail(400, "bad_request", "Input must be an object")
        try:
            output = action(self._as_rest(key, payload))
        except ActionFailure as failure:
            return fail(failure.status, failure.type, failure.message)
        self.runs.append((key, payload))
        if self.on_run is not None:
            self.on_run(key, payload)
        if self.latency:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            await asyncio.sleep(self.latency)
            self.in_flight -= 1
        renamed = self.output_renamed.get(key, {})
        if isinstance(output, dict) and renamed:
            output = {renamed.get(k, k): v for k, v in output.items()}
        return web.json_response({"output": output, "actionRunId": f"run-{next(self._ids)}"})

    def _as_rest(self, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The input under Chatra's REST names; an input its schema does not declare is refused,
        as Membrane validates input against the schema."""
        required, optional = self._inputs(key)
        unknown = [name for name in payload if name not in (*required, *optional)]
        if unknown:
            raise ActionFailure(
                400, "bad_request", f"Input validation failed: unknown property {unknown[0]}"
            )
        back = {given: rest for rest, given in self.renamed.get(key, {}).items()}
        return {back.get(name, name): value for name, value in payload.items()}

    # -- the actions, with Chatra's rules --

    def _send_agent_message(self, data: dict[str, Any]) -> dict[str, Any]:
        client_id = required(data, "clientId")
        text = text_of(data)
        named = data.get("agentEmail") and data.get("agentName") and data.get("receivedFrom")
        if self.realistic and not data.get("agentId") and not named:
            raise ActionFailure(
                400,
                "dependency_error",
                "Chatra: agentId, or agentEmail with agentName and receivedFrom, is required",
            )
        message = {
            "id": self._new_id("msg"),
            "type": "agent",
            "clientId": client_id,
            "agentId": data.get("agentId"),
            "text": text,
            "createdAt": int(time.time() * 1000),
            "receivedFrom": data.get("receivedFrom"),
        }
        if not data.get("agentId"):
            message |= {"agentEmail": data.get("agentEmail"), "agentName": data.get("agentName")}
        self.messages[message["id"]] = message
        self._echo_later(message)
        return message

    def _echo_later(self, message: dict[str, Any], **flags: bool) -> None:
        if self.echo_to:
            task = asyncio.create_task(self._echo(message, flags))
            self._echoes.add(task)
            task.add_done_callback(self._echoes.discard)

    async def _echo(self, message: dict[str, Any], flags: dict[str, bool]) -> None:
        """Chatra reports the agent message back in a chatFragment, retrying a down receiver; a
        pushed message comes flagged `isPushed`, as the successor API marks it."""
        await asyncio.sleep(self.echo_delay)
        echo = {"type": "agent", "agentId": message["agentId"], "createdAt": message["createdAt"]}
        echo |= flags
        if self.realistic:  # as the public fixture has it: no id, the text under `text`
            echo |= {"text": message["text"], "receivedFrom": message.get("receivedFrom")}
        else:
            echo |= {"id": message["id"], "message": message["text"]}
        body = {
            "eventName": "chatFragment",
            "client": {"id": message["clientId"]},
            "messages": [echo],
        }
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for _ in range(300):
                try:
                    async with http.post(self.echo_to, json=body) as response:
                        if response.status < 300:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        for echo in list(self._echoes):  # Chatra stops too: nothing more is echoed
            echo.cancel()
        await super().stop()

    def _edit_agent_message(self, data: dict[str, Any]) -> dict[str, Any]:
        message = self._message(data)
        message["text"] = text_of(data)
        return message

    def _delete_agent_message(self, data: dict[str, Any]) -> dict[str, Any]:
        message = self._message(data)
        del self.messages[message["id"]]
        return {"id": message["id"], "deleted": True}

    def _get_message(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._message(data)

    def _get_client(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._client_view(self._client(data))

    def _update_client(self, data: dict[str, Any]) -> dict[str, Any]:
        """Only the fields passed change; `null` removes a value (an empty string is kept)."""
        client = self._client(data)
        for name in ("name", "email", "phone", "notes"):
            if name in data and data[name] is None:
                client.pop(name, None)
            elif name in data:
                client[name] = data[name]
        return self._client_view(client)

    def _client(self, data: dict[str, Any]) -> dict[str, Any]:
        client_id = required(data, "clientId")
        if client_id not in self.clients:
            raise ActionFailure(404, "dependency_error", "Chatra: client not found")
        return self.clients[client_id]

    def _client_view(self, client: dict[str, Any]) -> dict[str, Any]:
        """A visitor as Chatra answers: contact details under `basicInfo` (realistic)."""
        if not self.realistic:
            return dict(client)
        contact = ("name", "email", "phone", "notes")
        view = {k: v for k, v in client.items() if k not in contact}
        view["basicInfo"] = {k: client[k] for k in contact if k in client}
        return view

    def _send_pushed_message(self, data: dict[str, Any]) -> dict[str, Any]:
        client_id = required(data, "clientId")
        message = {
            "id": self._new_id("push"),
            "clientId": client_id,
            "text": text_of(data, 5000),
            "agentId": data.get("agentId"),
            "groupId": data.get("groupId"),
            "createdAt": int(time.time() * 1000),
        }
        self.pushed[message["id"]] = message
        self._echo_later(message, isPushed=True)
        return message

    def _get_pushed_message(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._pushed(data)

    def _edit_pushed_message(self, data: dict[str, Any]) -> dict[str, Any]:
        message = self._pushed(data)
        message["text"] = text_of(data, 5000)
        return message

    def _delete_pushed_message(self, data: dict[str, Any]) -> dict[str, Any]:
        message = self._pushed(data)
        del self.pushed[message["id"]]
        return {"id": message["id"], "deleted": True}

    def _message(self, data: dict[str, Any]) -> dict[str, Any]:
        message_id = required(data, "messageId")
        if message_id not in self.messages:
            raise ActionFailure(404, "dependency_error", "Chatra: message not found")
        return self.messages[message_id]

    def _pushed(self, data: dict[str, Any]) -> dict[str, Any]:
        message_id = required(data, "messageId")
        if message_id not in self.pushed:
            raise ActionFailure(404, "dependency_error", "Chatra: pushed message not found")
        return self.pushed[message_id]

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"
