"""The fake Slack's wire: what it records of each message, the faults a test can inject, and how
Slack reads arguments and answers (HTTP 200 with `ok`, signatures)."""

import hashlib
import hmac
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


def manifest_scopes(manifest: Path = MANIFEST) -> tuple[str, ...]:
    """The bot scopes the app's manifest asks for: what Slack grants an app installed from it."""
    if not manifest.exists():  # installed without the project around it
        return ()
    bot = manifest.read_text().split("bot:", 1)[1].split("settings:", 1)[0]
    return tuple(re.findall(r"^\s+- ([a-z:.]+)", bot, re.MULTILINE))


BOT_USER_ID = "UBOT000001"
BOT_ID = "BBOT000001"
TEAM_ID = "T0000TEAM"


def thread_reply(channel: str, user: str, text: str, ts: str, thread_ts: str) -> dict[str, Any]:
    """A person's reply in a thread under a post of the bot's, as Slack's message event carries
    it: `parent_user_id` names who wrote the thread's first message."""
    return {
        "type": "message",
        "channel": channel,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
        "parent_user_id": BOT_USER_ID,
    }


def reply_edited(channel: str, user: str, thread_ts: str, ts: str, old: str, new: str) -> dict:
    """Slack's message_changed event for a person's edited thread reply."""
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel,
        "ts": f"{time.time():.6f}",
        "message": {
            **thread_reply(channel, user, new, ts, thread_ts),
            "edited": {"user": user, "ts": f"{time.time():.6f}"},
        },
        "previous_message": thread_reply(channel, user, old, ts, thread_ts),
    }


def reply_deleted(channel: str, user: str, thread_ts: str, ts: str, old: str) -> dict:
    """Slack's message_deleted event for a person's deleted thread reply."""
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": channel,
        "ts": f"{time.time():.6f}",
        "deleted_ts": ts,
        "previous_message": thread_reply(channel, user, old, ts, thread_ts),
    }


def block_actions(
    button: dict[str, Any], user: str, channel: str, trigger_id: str, response_url: str
) -> dict[str, Any]:
    """The interactivity payload of a button clicked (its container is the caller's to add)."""
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": user},
        "api_app_id": "A0000APP",
        "channel": {"id": channel},
        "trigger_id": trigger_id,
        "response_url": response_url,
        "actions": [{**button, "block_id": "b1", "action_ts": f"{time.time():.6f}"}],
    }


def view_submission(
    view: dict[str, Any], values: dict[str, str], user: str, trigger_id: str
) -> dict[str, Any]:
    """A modal submitted with each input (by block id; the app's inputs' action id is
    `value`) filled with `values`."""
    state = {
        field: {"value": {"type": "plain_text_input", "value": value}}
        for field, value in values.items()
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID},
        "user": {"id": user},
        "api_app_id": "A0000APP",
        "trigger_id": trigger_id,
        "view": {**view, "state": {"values": state}},
    }


def slash_command(
    text: str, user: str, channel: str, trigger_id: str, response_url: str
) -> dict[str, str]:
    """The form Slack posts for `/chatra <text>`."""
    return {
        "command": "/chatra",
        "text": text,
        "user_id": user,
        "channel_id": channel,
        "team_id": TEAM_ID,
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    args: dict[str, Any]
    metadata: dict[str, Any] | None = None
    user: str | None = None  # a person's message (None: the bot's)
    reactions: set[str] = field(default_factory=set)  # names the bot reacted with
    people: dict[str, set[str]] = field(default_factory=dict)  # name -> people who reacted

    @property
    def author(self) -> str | None:
        """The name the message is shown under, when the app set one (chat:write.customize)."""
        return self.args.get("username")

    history: list[str] = field(default_factory=list)  # earlier texts, one per chat.update

    @property
    def keys(self) -> list[str]:
        """The keys the app tagged the message with (its metadata), each saying what it is for."""
        payload = (self.metadata or {}).get("event_payload") or {}
        return [str(key) for key in payload.get("keys") or []]

    @property
    def lines(self) -> list[tuple[str, str]]:
        """(author, text) of each message it shows under an author-and-time line (a post that
        joins several, a card that opens with what the visitor wrote); none for other posts."""
        blocks = self.blocks or []
        return [
            (str(before["elements"][0]["text"]).split("* · <!date^")[0].lstrip("*"),
             after["text"]["text"])
            for before, after in itertools.pairwise(blocks)
            if before.get("type") == "context" and "<!date^" in str(before) and "text" in after
        ]  # fmt: skip

    @property
    def joined(self) -> list[str]:
        """The texts of `lines`."""
        return [text for _, text in self.lines]

    @property
    def said(self) -> list[str]:
        """The messages a reader sees in it: those it joins, else the post's text."""
        return self.joined or [self.text]


@dataclass
class Fault:
    method: str
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    after_effect: bool = False  # do the work, then answer with the error: a lost answer
    reset: bool = False  # drop the connection instead of answering
    hang: float = 0.0  # seconds before answering: a stalled Slack
    times: int = 1  # how many calls it fails


async def arguments(request: web.Request) -> dict[str, Any]:
    """Slack accepts query, form and JSON arguments alike; slack_sdk uses all three."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(await request.post())
    return args


# Block Kit's limits, as Slack enforces them: past any of them a post is refused (invalid_blocks).
MOST_BLOCKS, SECTION_TEXT, FIELD_TEXT, MOST_FIELDS, HEADER_TEXT = 50, 3000, 2000, 10, 150
CONTEXT_TEXT, MOST_CONTEXT_ELEMENTS, IMAGE_URL, ALT_TEXT = 3000, 10, 3000, 2000
USERNAME = 80  # characters of a `username` (assumed refused past it: docs/development/wire.md)


def blocks_problem(blocks: list[dict[str, Any]], most: int = MOST_BLOCKS) -> str | None:
    """What of `blocks` Slack would refuse, in a few words; None when it takes them. A message
    holds `most` 50 blocks, a modal or App Home 100."""
    if len(blocks) > most:
        return f"{len(blocks)} blocks"
    for block in blocks:
        kind, text = block.get("type"), (block.get("text") or {}).get("text", "")
        fields = block.get("fields") or []
        elements = block.get("elements") or []
        too_long = (
            (kind == "section" and len(text) > SECTION_TEXT)
            or (kind == "section" and len(fields) > MOST_FIELDS)
            or any(len(field.get("text", "")) > FIELD_TEXT for field in fields)
            or (kind == "header" and len(text) > HEADER_TEXT)
            or (kind == "context" and len(elements) > MOST_CONTEXT_ELEMENTS)
            or (kind == "context" and any(len(e.get("text", "")) > CONTEXT_TEXT for e in elements))
            or (kind == "image" and len(str(block.get("image_url", ""))) > IMAGE_URL)
            or (kind == "image" and len(str(block.get("alt_text", ""))) > ALT_TEXT)
        )
        if too_long:
            return f"a {kind} block over its limits"
    return None


def image_reachable(block: dict[str, Any]) -> bool:
    url = str(block.get("image_url", ""))
    return url.startswith("https://") and "unreachable" not in url


def json_arg(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def blocks_of(value: Any) -> list[dict[str, Any]] | None:
    return json.loads(value) if isinstance(value, str) else value


def ok(**fields: Any) -> web.Response:
    return web.json_response({"ok": True, **fields})


def error(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error})


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack signs a request with (now, unless `timestamp` says when)."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(secret, stamp, body),
    }


def page(found: list[Posted], args: dict[str, Any]) -> web.Response:
    """Messages as conversations.history and .replies answer them, paged by cursor."""
    oldest = float(args.get("oldest") or 0)
    found = [m for m in found if float(m.ts) >= oldest]
    start, limit = int(args.get("cursor") or 0), min(int(args.get("limit") or 100), 1000)
    page = found[start : start + limit]
    with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
    messages = []
    for m in page:
        message = {"type": "message", "ts": m.ts, "text": m.text, "bot_id": BOT_ID}
        if m.thread_ts:
            message["thread_ts"] = m.thread_ts
        if with_metadata and m.metadata:
            message["metadata"] = m.metadata
        messages.append(message)
    more = start + limit < len(found)
    cursor = str(start + limit) if more else ""
    return ok(messages=messages, has_more=more, response_metadata={"next_cursor": cursor})
