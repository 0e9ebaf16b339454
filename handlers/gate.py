"""Before any listener: a slash command or interaction is carried out once (a replay of a signed
request within Slack's 5 minutes is dropped), and only for the people who may act (answered in
words, to them alone, when they may not). Events pass: they are deduplicated by their id, and a
reply from someone who may not act is stopped by the core."""

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.response import BoltResponse

from bot.core.door import FrontDoor, modal, patiently

log = logging.getLogger(__name__)
ACTS = ("command", "block_actions", "message_action", "shortcut", "view_submission")
ANYONE = ("", "help")  # /chatra subcommands that show nothing of anyone


def register(app: AsyncApp, door: FrontDoor) -> None:
    access, seen = door.access, door.seen

    async def once_and_only_the_team(
        body: dict[str, Any], next: Callable[[], Awaitable[Any]], respond: AsyncRespond | None
    ) -> Any:
        kind = "command" if "command" in body else str(body.get("type"))
        if kind not in ACTS:
            return await next()
        user = str(body.get("user_id") or (body.get("user") or {}).get("id") or "")
        async with patiently(f"the {kind}"):
            first = await seen.first_time(request_key(kind, body))
        if not first:
            log.warning("a replayed %s from %s dropped", kind, user)
            return BoltResponse(status=200, body="")
        if kind == "command" and (body.get("text") or "").strip().lower() in ANYONE:
            return await next()
        refusal = await access.refusal(user)
        if refusal is None:
            return await next()
        log.info("%s refused %s: %s", user, kind, refusal, extra={"user": user})
        said = f":no_entry: {refusal}"
        if kind == "command":
            return _json({"response_type": "ephemeral", "text": said})
        if kind == "view_submission":
            return _json({"response_action": "update", "view": modal("Not allowed", said)})
        if respond is not None:
            await respond(response_type="ephemeral", replace_original=False, text=said)
        return BoltResponse(status=200, body="")

    app.use(once_and_only_the_team)


def request_key(kind: str, body: dict[str, Any]) -> str:
    """What makes a command or interaction one of a kind: its trigger id (and a button's action
    time), else its whole body."""
    actions = body.get("actions") or [{}]
    stamp = actions[0].get("action_ts", "") if isinstance(actions[0], dict) else ""
    trigger = body.get("trigger_id")
    if trigger:
        return f"{kind}:{trigger}:{stamp}"
    return f"{kind}:" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _json(answer: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(answer), headers={"content-type": "application/json"}
    )
