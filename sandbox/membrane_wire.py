"""The fake Membrane's wire: the Chatra actions' inputs as Chatra's REST API names them, the
faults a test can inject, and failures as Membrane answers them."""

from dataclasses import dataclass
from typing import Any

from aiohttp import web

API_VERSION = "2025-10-21"
ONLINE_ACTION = "agent-online-ping"
ONLINE_FOR = 150.0  # seconds an agent stays online after a ping (Chatra: 2-3 minutes)


# Each action's input as the Chatra connector declares it: (required, optional), see chatra.md.
INPUTS = {
    "send-agent-message": (
        ("clientId", "text"),
        ("agentId", "agentEmail", "agentName", "receivedFrom"),
    ),
    "get-message": (("messageId",), ()),
    "edit-agent-message": (("messageId", "text"), ()),
    "delete-agent-message": (("messageId",), ()),
    "send-pushed-message": (("clientId", "text"), ("agentId", "groupId")),
    "get-pushed-message": (("messageId",), ()),
    "edit-pushed-message": (("messageId", "text"), ()),
    "delete-pushed-message": (("messageId",), ()),
    "get-client": (("clientId",), ()),
    "update-client": (("clientId",), ("name", "email", "phone", "notes")),
    # made with `membrane action create` (no Chatra connector lists it): the successor API's
    # agentOnlinePing, absent from a connection until made
    ONLINE_ACTION: ((), ("agentId", "agentEmail", "agentName", "receivedFrom")),
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
    times: int = 1  # how many runs it fails


class ActionFailure(Exception):
    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def required(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ActionFailure(400, "bad_request", f"Input validation failed: {name} is required")
    return value


def text_of(data: dict[str, Any], limit: int | None = None) -> str:
    """Chatra documents 1-5000 characters for pushed messages; no limit for agent messages."""
    text = required(data, "text")
    if limit is not None and len(text) > limit:
        raise ActionFailure(400, "bad_request", f"Input validation failed: text over {limit} chars")
    return text


def fail(status: int, type_: str, message: str) -> web.Response:
    return web.json_response({"type": type_, "message": message}, status=status)
