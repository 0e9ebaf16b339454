"""Membrane client: runs Chatra actions, one typed method per action, over Membrane's HTTP API
(or its CLI, see `bot.membrane_cli`).

Wire format: `POST /connections/{id}/actions/{key}/run` with the action's input as the body;
success is `{"output": ...}`, failure a non-2xx `{"type": ..., "message": ...}`.
"""

import asyncio
import logging
import random
import time
from typing import Any, Protocol

import aiohttp
import jwt

from bot.errors import MembraneError
from bot.metrics import Metrics

API_VERSION = "2025-10-21"
TOKEN_TTL = 3600
log = logging.getLogger(__name__)


# The input fields each wrapper below may send; `chatra-bridge check` compares them with the
# input schema each action declares on the connection.
ACTION_FIELDS = {
    "send-agent-message": ("clientId", "text", "agentId"),
    "edit-agent-message": ("messageId", "text"),
    "delete-agent-message": ("messageId",),
    "get-message": ("messageId",),
    "get-client": ("clientId",),
    "update-client": ("clientId", "name", "email", "phone", "notes"),
    "send-pushed-message": ("clientId", "text", "agentId", "groupId"),
    "get-pushed-message": ("messageId",),
    "edit-pushed-message": ("messageId", "text"),
    "delete-pushed-message": ("messageId",),
}


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


class MembraneClient:
    def __init__(
        self,
        transport: Transport,
        *,
        attempts: int = 4,
        base_delay: float = 0.5,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._transport = transport
        self.connection_id = transport.connection_id
        self._attempts = attempts
        self._base_delay = base_delay

    # -- one typed wrapper per action: with ACTION_FIELDS, the only place that knows input names --

    async def send_agent_message(
        self, client_id: str, text: str, agent_id: str | None = None
    ) -> str:
        """Send `text` to the visitor; returns Chatra's message id."""
        payload: dict[str, Any] = {"clientId": client_id, "text": text}
        if agent_id:
            payload["agentId"] = agent_id
        output = await self.run("send-agent-message", payload, repeatable=False)
        return _message_id(output)

    async def edit_agent_message(self, message_id: str, text: str) -> None:
        await self.run("edit-agent-message", {"messageId": message_id, "text": text})

    async def delete_agent_message(self, message_id: str) -> None:
        await self.run("delete-agent-message", {"messageId": message_id})

    async def get_message(self, message_id: str) -> dict[str, Any]:
        return await self.run("get-message", {"messageId": message_id})

    async def get_client(self, client_id: str) -> dict[str, Any]:
        return await self.run("get-client", {"clientId": client_id})

    async def update_client(self, client_id: str, **fields: str) -> dict[str, Any]:
        allowed = {k: v for k, v in fields.items() if k in {"name", "email", "phone", "notes"}}
        return await self.run("update-client", {"clientId": client_id, **allowed})

    async def send_pushed_message(
        self, client_id: str, text: str, agent_id: str | None = None, group_id: str | None = None
    ) -> str:
        payload: dict[str, Any] = {"clientId": client_id, "text": text}
        if agent_id:
            payload["agentId"] = agent_id
        if group_id:
            payload["groupId"] = group_id
        return _message_id(await self.run("send-pushed-message", payload))

    async def get_pushed_message(self, message_id: str) -> dict[str, Any]:
        return await self.run("get-pushed-message", {"messageId": message_id})

    async def edit_pushed_message(self, message_id: str, text: str) -> None:
        await self.run("edit-pushed-message", {"messageId": message_id, "text": text})

    async def delete_pushed_message(self, message_id: str) -> None:
        await self.run("delete-pushed-message", {"messageId": message_id})

    # -- transport --

    async def run(self, action: str, payload: dict[str, Any], *, repeatable: bool = True) -> Any:
        """Run an action, retrying transient failures with capped exponential backoff and jitter.

        An action that must not run twice (`repeatable=False`) is retried only when it surely did
        not run; an in-doubt failure is raised at once for the caller to settle.
        """
        for attempt in range(1, self._attempts + 1):
            self._metrics.events_out.labels("membrane", action).inc()
            try:
                with self._metrics.action_seconds.labels(action).time():
                    return await self._transport.run_once(action, payload)
            except MembraneError as error:
                self._metrics.failures.labels(f"membrane:{error.kind}").inc()
                settle_first = error.in_doubt and not repeatable
                if settle_first or not error.transient or attempt == self._attempts:
                    if error.transient:
                        error.detail = (
                            f"Membrane did not run {action} after {attempt} tries"
                            f" (last: {error.detail})"
                        )
                        error.args = (error.detail,)
                    raise
                delay = min(self._base_delay * 2 ** (attempt - 1), 30.0)
                delay *= random.uniform(0.5, 1.0)
                log.warning(
                    "membrane %s failed (%s), retry %d in %.2fs", action, error.kind, attempt, delay
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


class HttpTransport:
    """Membrane's HTTP API: `POST /connections/{id}/actions/{key}/run`, the input as the body."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        connection_id: str,
        tokens: TokenSource,
        timeout: float = 15.0,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self.connection_id = connection_id
        self._tokens = tokens
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def read(self, path: str = "") -> tuple[int, Any]:
        """GET the connection (`""`) or an action's definition (`"/actions/<key>"`), with its
        input schema: HTTP status and JSON body, for `chatra-bridge check`."""
        url = f"{self._base_url}/connections/{self.connection_id}{path}"
        async with self._session.get(url, headers=self._headers(), timeout=self._timeout) as got:
            return got.status, await _json_or_none(got)

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._tokens.token()}",
            "membrane-api-version": API_VERSION,
        }

    async def run_once(self, action: str, payload: dict[str, Any]) -> Any:
        url = f"{self._base_url}/connections/{self.connection_id}/actions/{action}/run"
        try:
            async with self._session.post(
                url, json=payload, headers=self._headers(), timeout=self._timeout
            ) as response:
                body = await _json_or_none(response)
                if response.status < 300 and isinstance(body, dict):
                    return body.get("output")
                raise failure(action, self.connection_id, response.status, body)
        except aiohttp.ClientConnectorError:  # never connected: the request was not sent
            raise MembraneError("network", "Membrane unreachable", transient=True) from None
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            reason = "timed out" if isinstance(error, TimeoutError) else "connection dropped"
            raise MembraneError(
                "network", f"Membrane {reason}", transient=True, in_doubt=True
            ) from None


def failure(action: str, connection_id: str, status: int, body: Any) -> MembraneError:
    """A failed run as our error: a sentence for a person, and whether trying again may help."""
    body = body if isinstance(body, dict) else {}
    kind = str(body.get("type") or f"http_{status}")
    message = str(body.get("message") or "")
    transient = status == 429 or status >= 500 or kind in {"concurrency", "internal"}
    in_doubt = status >= 500  # the request arrived; whether Chatra acted is unknown
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


def _message_id(output: Any) -> str:
    """Chatra's id for a message an action created (tolerates a bare id or `messageId`)."""
    if isinstance(output, dict):
        for key in ("id", "messageId", "_id"):
            if output.get(key):
                return str(output[key])
    if isinstance(output, str) and output:
        return output
    raise MembraneError(
        "unexpected_output", "Membrane ran the action but returned no message id", transient=False
    )
