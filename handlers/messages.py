"""Replies, edits and deletes in mirrored threads: stored for the core before Slack gets its 200."""

import hashlib
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.bridge import Bridge
from bot.events import SlackDeletion, SlackEdit, SlackReply

log = logging.getLogger(__name__)

_REPLY_SUBTYPES = (None, "thread_broadcast", "file_share")


def register(app: AsyncApp, bridge: Bridge) -> None:
    async def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        change = thread_change(event)
        if change is None:
            return
        if bridge.accept_slack(dedupe_key(body, change), change):
            log.info("accepted %s of %s in thread %s", change.kind, change.ts, change.thread_ts)

    app.event("message")(on_message)


def thread_change(event: dict[str, Any]) -> SlackReply | SlackEdit | SlackDeletion | None:
    """What a person did in a thread, or None for anything the bridge ignores.

    Ignored: bots (ours and others), top-level channel messages, and `message_changed` events that
    do not change the text (Slack sends those for unfurls and reply counts).
    """
    subtype = event.get("subtype")
    channel = event.get("channel") or ""
    if subtype in _REPLY_SUBTYPES:
        if not _by_person(event) or not _is_reply(event):
            return None
        files = [str(f.get("name") or f.get("title") or "file") for f in event.get("files") or []]
        return SlackReply(
            channel=channel,
            thread_ts=event["thread_ts"],
            ts=event["ts"],
            user=event["user"],
            text=event.get("text") or "",
            file_names=files,
        )
    if subtype == "message_changed":
        new, old = event.get("message") or {}, event.get("previous_message") or {}
        if not _by_person(new) or not _is_reply(new) or new.get("text") == old.get("text"):
            return None
        return SlackEdit(
            channel=channel,
            thread_ts=new["thread_ts"],
            ts=new["ts"],
            user=new["user"],
            text=new.get("text") or "",
        )
    if subtype == "message_deleted":
        old = event.get("previous_message") or {}
        if not _by_person(old) or not _is_reply(old):
            return None
        return SlackDeletion(
            channel=channel, thread_ts=old["thread_ts"], ts=event.get("deleted_ts") or old["ts"]
        )
    return None


def dedupe_key(body: dict[str, Any], change: SlackReply | SlackEdit | SlackDeletion) -> str:
    """Slack's event id (the same on every retry), or a digest of the change without one."""
    if body.get("event_id"):
        return str(body["event_id"])
    return change.kind + ":" + hashlib.sha256(change.model_dump_json().encode()).hexdigest()


def _by_person(message: dict[str, Any]) -> bool:
    return (
        bool(message.get("user"))
        and not message.get("bot_id")
        and (message.get("subtype") != "bot_message")
    )


def _is_reply(message: dict[str, Any]) -> bool:
    thread_ts = message.get("thread_ts")
    return bool(thread_ts) and bool(message.get("ts")) and thread_ts != message.get("ts")
