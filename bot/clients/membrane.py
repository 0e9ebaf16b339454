"""Membrane client: runs Chatra actions, one typed method per action, over Membrane's HTTP API
(or its CLI, see `bot.clients.membrane_cli`).

Wire format: `POST /connections/{id}/actions/{key}/run` with the action's input as the body;
success is `{"output": ...}`, failure a non-2xx `{"type": ..., "message": ...}`.
"""

import asyncio
import logging
import time
from typing import Any, Protocol

import aiohttp
import jwt

from bot.clients.action_shapes import ACTIONS, ActionShape, default_shape, shape_from_definition
from bot.clients.metrics import Metrics
from bot.core.engine.backoff import ACTION
from bot.core.engine.health import Health
from bot.core.errors import MembraneError
from bot.core.ports import Writer
from bot.core.wire.chatra import VISITOR_FIELDS, ChatraMessage

API_VERSION = "2025-10-21"
TOKEN_TTL = 3600
log = logging.getLogger(__name__)


class TokenSource:
    """A ready token, or one minted from workspace credentials and re-minted before it expires."""

    def __init__(
        self,
        token: str | None = None,
        *,
        workspace_key: str | None = None,
        workspace_secret: str | None = None,
        tenant_key: str | None = None,
    ) -> None:
        self._token = token
        self._credentials = (workspace_key, workspace_secret, tenant_key)
        self._expires_at = float("inf") if token else 0.0

    def token(self) -> str:
        if self._token is None or time.time() > self._expires_at - 60:
            workspace_key, workspace_secret, tenant_key = self._credentials
            expires = int(time.time()) + TOKEN_TTL
            payload = {"id": tenant_key, "iss": workspace_key, "exp": expires}
            self._token = jwt.encode(payload, workspace_secret or "", algorithm="HS256")
            self._expires_at = expires
        return self._token


class Transport(Protocol):
    """Runs one action once on its connection: its output, or a MembraneError."""

    connection_id: str

    async def run_once(self, action: str, payload: dict[str, Any]) -> Any: ...

    async def definition(self, action: str) -> Any:
        """The action's definition with its input and output schemas; None when there is none
        to read. A MembraneError when Membrane cannot say now."""
        ...


class MembraneClient:
    """One typed method per Chatra action. Each action's input names are learnt from its schema
    on the connection (see `bot.clients.action_shapes`), and learnt again when Membrane says an
    input is wrong; every message the bridge sends carries its `receivedFrom` mark where the
    action takes one."""

    def __init__(
        self,
        transport: Transport,
        *,
        attempts: int,
        base_delay: float,
        received_from: str,
        metrics: Metrics | None = None,
        health: Health | None = None,
        online_action: str | None = None,
    ) -> None:
        self._health = health or Health()
        self._metrics = metrics or Metrics()
        self._transport = transport
        self.connection_id = transport.connection_id
        self._attempts = attempts
        self._retry = ACTION.from_(base_delay)
        self.received_from = received_from
        self.online_action = online_action  # CHATRA_ONLINE_ACTION: None when not set
        self._shapes: dict[str, ActionShape] = {}

    # -- one typed method per action, in the bridge's own terms --

    async def send_agent_message(self, client_id: str, text: str, writer: Writer) -> str:
        """Send `text` to the visitor as `writer`; returns Chatra's message id."""
        values = {"client": client_id, "text": text, "received_from": self.received_from}
        if writer.agent_id:
            values["agent"] = writer.agent_id
        else:
            values |= {"agent_email": writer.email, "agent_name": writer.name}
        return await self._created("send-agent-message", values, repeatable=False)

    async def edit_agent_message(self, message_id: str, text: str) -> None:
        await self._act("edit-agent-message", {"message": message_id, "text": text})

    async def delete_agent_message(self, message_id: str) -> None:
        await self._act("delete-agent-message", {"message": message_id})

    async def get_message(self, message_id: str) -> ChatraMessage:
        return ChatraMessage.model_validate(
            _object(await self._act("get-message", {"message": message_id}))
        )

    async def get_client(self, client_id: str) -> dict[str, Any]:
        return _object(await self._act("get-client", {"client": client_id}))

    async def update_client(self, client_id: str, **fields: str | None) -> dict[str, Any]:
        """Change the given fields only; None removes a value (Chatra wants `null`, not "")."""
        values = {k: v for k, v in fields.items() if k in VISITOR_FIELDS}
        return _object(await self._act("update-client", {"client": client_id, **values}))

    async def send_pushed_message(
        self, client_id: str, text: str, agent_id: str | None = None, group_id: str | None = None
    ) -> str:
        values = {"client": client_id, "text": text, "received_from": self.received_from}
        values |= {"agent": agent_id, "group": group_id}
        given = {k: v for k, v in values.items() if v}
        return await self._created("send-pushed-message", given)

    async def get_pushed_message(self, message_id: str) -> ChatraMessage:
        return ChatraMessage.model_validate(
            _object(await self._act("get-pushed-message", {"message": message_id}))
        )

    async def edit_pushed_message(self, message_id: str, text: str) -> None:
        await self._act("edit-pushed-message", {"message": message_id, "text": text})

    async def delete_pushed_message(self, message_id: str) -> None:
        await self._act("delete-pushed-message", {"message": message_id})

    async def agent_online(self, agent_id: str, email: str | None, name: str | None) -> None:
        """Chatra shows the agent online for 2-3 minutes (CHATRA_ONLINE_ACTION), named by id, or
        by email and name where the action takes no id: only ever an agent Chatra knows, since
        an unknown email makes up a new agent. Tried once: the next round pings again."""
        assert self.online_action is not None
        shape = await self.shape(self.online_action)
        if shape.can_send("agent"):
            values = {"agent": agent_id}
        elif email and name and shape.names_agents_by_email():
            values = {"agent_email": email, "agent_name": name}
            values["received_from"] = self.received_from
        else:
            raise MembraneError(
                "bad_request",
                f"{self.online_action} takes no agentId, and Chatra's email of agent {agent_id}"
                " is not known (or the action takes no agentEmail and agentName)",
                transient=False,
            )
        await self._act(self.online_action, values, tries=1)

    # -- the actions as the connection has them --

    async def shape(self, action: str) -> ActionShape:
        """How the action takes its input, read once from its schema."""
        return self._shapes.get(action) or await self._learn(action)

    async def learn_actions(self) -> list[ActionShape]:
        """Read every action's schema (at start, and for `chatra-bridge check`)."""
        return [await self.shape(action) for action in ACTIONS]

    async def _learn(self, action: str) -> ActionShape:
        try:
            definition = await self._transport.definition(action)
        except MembraneError as error:  # not kept: read again next time
            log.warning("schema of %s unreadable (%s): Chatra's REST names for now", action, error)
            return default_shape(action)
        shape = shape_from_definition(action, definition)
        self._shapes[action] = shape
        if shape.unplaced:
            missing = ", ".join(shape.unplaced)
            log.warning("%s has no input for %s: %s", action, missing, shape.describe())
        return shape

    async def _act(
        self, action: str, values: dict[str, Any], *, repeatable: bool = True, tries: int = 0
    ) -> tuple[ActionShape, Any]:
        """Run `action` with `values` under the names it takes. When Membrane refuses the input,
        the schema is read again: when it changed, the action runs once more under the new names
        (a refused input ran nothing, so this is safe even for a send)."""
        shape = await self.shape(action)
        try:
            answer = await self.run(action, shape.input(values), repeatable=repeatable, tries=tries)
            return shape, answer
        except MembraneError as error:
            if error.kind != "bad_request":
                raise
            fresh = await self._learn(action)
            if fresh == shape:
                raise
            log.info("%s takes its input differently now: %s", action, fresh.describe())
            answer = await self.run(action, fresh.input(values), repeatable=repeatable, tries=tries)
            return fresh, answer

    async def _created(self, action: str, values: dict[str, Any], repeatable: bool = True) -> str:
        shape, output = await self._act(action, values, repeatable=repeatable)
        return _created_id(output, shape.id_keys)

    # -- transport --

    async def run(
        self, action: str, payload: dict[str, Any], *, repeatable: bool = True, tries: int = 0
    ) -> Any:
        """Run an action, retrying transient failures with capped exponential backoff and jitter
        (`tries` times; 0: MEMBRANE_RETRY_ATTEMPTS).

        An action that must not run twice (`repeatable=False`) is retried only when it surely did
        not run; an in-doubt failure is raised at once for the caller to settle.
        """
        attempts = tries or self._attempts
        for attempt in range(1, attempts + 1):
            self._metrics.events_out.labels("membrane", action).inc()
            try:
                with self._metrics.action_seconds.labels(action).time():
                    output = await self._transport.run_once(action, payload)
                await self._health.worked("membrane")
                return output
            except MembraneError as error:
                self._metrics.failures.labels(f"membrane:{error.kind}").inc()
                if error.transient or error.kind == "connection":
                    await self._health.failed("membrane", error.detail)
                else:
                    await self._health.worked("membrane")  # it answered: Chatra refused the input
                settle_first = error.in_doubt and not repeatable
                if settle_first or not error.transient or attempt == attempts:
                    if error.transient:
                        error.detail = (
                            f"Membrane did not run {action} after {attempt} tries"
                            f" (last: {error.detail})"
                        )
                        error.args = (error.detail,)
                    raise
                delay = self._retry.delay(attempt)
                log.warning(
                    "membrane %s failed (%s), retry %d in %.2fs", action, error.kind, attempt, delay
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


class HttpTransport:
    """Membrane's HTTP API: `POST /connections/{id}/actions/{key}/run`, the input as the body;
    an action named by id in `action_ids` runs as `POST /actions/{id}/run?connectionId=...`
    with `{"input": ...}` (catalog actions may have an id and no key)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        connection_id: str,
        tokens: TokenSource,
        timeout: float,
        action_ids: dict[str, str] | None = None,
    ) -> None:
        self._action_ids = action_ids or {}
        self._session = session
        self._base_url = base_url.rstrip("/")
        self.connection_id = connection_id
        self._tokens = tokens
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def read(self) -> tuple[int, Any]:
        """GET the connection: HTTP status and JSON body, for `chatra-bridge check`."""
        url = f"{self._base_url}/connections/{self.connection_id}"
        async with self._session.get(url, headers=self._headers(), timeout=self._timeout) as got:
            return got.status, await _json_or_none(got)

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._tokens.token()}",
            "membrane-api-version": API_VERSION,
        }

    def _where(self, action: str) -> tuple[str, dict[str, str]]:
        """The action's URL and query: by its id when one is set, else by its key."""
        action_id = self._action_ids.get(action)
        if action_id:
            return f"{self._base_url}/actions/{action_id}", {"connectionId": self.connection_id}
        return f"{self._base_url}/connections/{self.connection_id}/actions/{action}", {}

    async def definition(self, action: str) -> Any:
        url, query = self._where(action)
        status, body = await self._call("GET", url, query, action)
        if status == 404:
            return None
        if status >= 300:
            raise failure(action, self.connection_id, status, body)
        return body

    async def run_once(self, action: str, payload: dict[str, Any]) -> Any:
        url, query = self._where(action)
        body = {"input": payload} if query else payload
        status, answer = await self._call("POST", url + "/run", query, action, body)
        if status < 300 and isinstance(answer, dict):
            return answer.get("output")
        raise failure(action, self.connection_id, status, answer)

    async def _call(
        self, method: str, url: str, query: dict[str, str], action: str, body: Any = None
    ) -> tuple[int, Any]:
        try:
            async with self._session.request(
                method,
                url,
                params=query,
                json=body,
                headers=self._headers(),
                timeout=self._timeout,
            ) as response:
                return response.status, await _json_or_none(response)
        except aiohttp.ClientConnectorError:  # never connected: the request was not sent
            raise MembraneError("network", "Membrane unreachable", transient=True) from None
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            reason = "timed out" if isinstance(error, TimeoutError) else "connection dropped"
            raise MembraneError(
                "network", f"Membrane {reason} ({action})", transient=True, in_doubt=True
            ) from None


def failure(action: str, connection_id: str, status: int, body: Any) -> MembraneError:
    """A failed run as our error: a sentence for a person, and whether trying again may help."""
    body = body if isinstance(body, dict) else {}
    kind = str(body.get("type") or f"http_{status}")
    message = str(body.get("message") or "")
    transient = status == 429 or status >= 500 or kind in {"concurrency", "internal"}
    # The request arrived and whether Chatra acted is unknown, except when Membrane says it is
    # unavailable (503): it turned the request away.
    in_doubt = status >= 500 and status != 503
    if kind == "connection":
        detail = f"Chatra is disconnected in Membrane (connection {connection_id}): reconnect it"
    elif status in (401, 403):
        detail = "Membrane refused our credentials: check MEMBRANE_TOKEN or the workspace keys"
    elif status == 404 and kind != "dependency_error":
        detail = f"Membrane does not know connection {connection_id} or action {action}"
    elif kind == "bad_request":
        detail = f"Chatra refused the {action} input: {message or 'bad request'}"
    elif kind == "dependency_error":
        detail = f"Chatra answered with an error: {message or f'HTTP {status}'}"
    elif status == 429:
        detail = "Membrane is rate limiting us (HTTP 429)"
    else:
        detail = f"Membrane error {kind} (HTTP {status}){': ' + message if message else ''}"
    return MembraneError(kind, detail, status=status, transient=transient, in_doubt=in_doubt)


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None


def _object(answer: tuple[ActionShape, Any]) -> dict[str, Any]:
    output = answer[1]
    return output if isinstance(output, dict) else {}


def _created_id(output: Any, keys: tuple[str, ...]) -> str:
    """Chatra's id for what an action created, under whichever key the output keeps it (a bare
    id is taken too)."""
    if isinstance(output, dict):
        for key in keys:
            if output.get(key) not in (None, ""):
                return str(output[key])
    if isinstance(output, str | int) and not isinstance(output, bool) and output != "":
        return str(output)
    raise MembraneError(
        "unexpected_output", "Membrane ran the action but returned no message id", transient=False
    )
