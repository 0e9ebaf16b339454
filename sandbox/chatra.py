"""Chatra's side of the sandbox: webhook bodies shaped as Chatra sends them.

Realistic by default (see ../shared/reference/chatra.md): messages carry no `id` and their text
under `text`, as in the one public fixture of a Chatra webhook; a visitor's contact details under
`basicInfo`. `realistic=False` gives the shapes the bridge first assumed: ids, text under
`message`, details at the top level.
"""

from typing import Any

CONTACT = ("name", "email", "phone", "notes")
SOME_MOMENT = 1_732_450_000_000  # ms since the epoch, as Chatra's createdAt


def chat_event(
    event_name: str,
    client_id: str = "client-1",
    messages: list[dict[str, Any]] | None = None,
    *,
    realistic: bool = True,
    **client: Any,
) -> dict[str, Any]:
    """A webhook body: `client` holds the visitor's details, placed where Chatra keeps them."""
    details = {"id": client_id, "chatId": f"chat-{client_id}", "basicId": 1042, **client}
    if realistic and any(field in details for field in CONTACT):
        basic = {field: details.pop(field) for field in CONTACT if field in details}
        details["basicInfo"] = {**details.get("basicInfo", {}), **basic}
    return {
        "eventName": event_name,
        "client": details,
        "messages": messages or [],
        "agents": [{"id": "a9", "name": "Ana", "email": "ana@example.com"}],
    }


def visitor_says(
    message_id: str, text: str, at: int = SOME_MOMENT, *, realistic: bool = True
) -> dict[str, Any]:
    return message("client", message_id, text, at, realistic=realistic)


def agent_says(
    message_id: str, text: str, at: int = SOME_MOMENT, *, realistic: bool = True
) -> dict[str, Any]:
    """A message an agent wrote in Chatra's dashboard."""
    return message("agent", message_id, text, at, realistic=realistic) | {"agentId": "a9"}


def trigger_says(text: str, at: int = SOME_MOMENT) -> dict[str, Any]:
    """A targeted auto-message (a trigger) greeting the visitor, as the successor API flags it."""
    return message("agent", "", text, at) | {"agentId": "a9", "isTrigger": True}


def message(
    kind: str, message_id: str, text: str, at: int, *, realistic: bool = True
) -> dict[str, Any]:
    if realistic:
        return {"type": kind, "text": text, "createdAt": at}
    return {"id": message_id, "type": kind, "message": text, "createdAt": at}
