"""Replies, edits and deletes in mirrored threads: stored for the core before Slack gets its 200."""

import hashlib
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.clients.metrics import Metrics
from bot.core.door import FrontDoor, ThreadNotKnownYet
from bot.core.wire.slack import SharedFile, SlackDeletion, SlackEdit, SlackReply, repaired

log = logging.getLogger(__name__)

_REPLY_SUBTYPES = (None, "thread_broadcast", "file_share")


class MessageEvent(BaseModel):
    """The fields of a Slack message event (or of its `message` / `previous_message`) we read."""

    model_config = ConfigDict(extra="ignore")
    subtype: str | None = None
    channel: str = ""
    user: str | None = None
    parent_user_id: str | None = None  # who wrote the thread's first message
    bot_id: str | None = None
    text: str | None = None
    ts: str | None = None
    thread_ts: str | None = None
    deleted_ts: str | None = None
    files: list[dict[str, Any]] = []
    message: "MessageEvent | None" = None
    previous_message: "MessageEvent | None" = None
    root: "MessageEvent | None" = None  # the thread's first message, as a broadcast reply has it

    def by_person(self) -> bool:
        return bool(self.user) and not self.bot_id and self.subtype != "bot_message"

    def parent_author(self) -> str | None:
        """Who wrote the thread's first message, by whatever field Slack says it: a reply and
        its edits carry `parent_user_id`, a reply also sent to the channel its `root`."""
        events = [m for m in (self, self.message, self.previous_message) if m]
        found = [m.parent_user_id for m in events] + [m.root.user for m in events if m.root]
        return next((author for author in found if author), None)

    def in_thread(self) -> bool:
        return bool(self.thread_ts) and bool(self.ts) and self.thread_ts != self.ts


class ThreadMessages:
    """The listener of messages: a person's reply, edit or delete in a chat's thread is stored."""

    def __init__(self, door: FrontDoor, metrics: Metrics) -> None:
        self._intake, self._metrics = door.intake, metrics

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> BoltResponse | None:
        try:
            message = MessageEvent.model_validate(repaired(event))
        except ValidationError as error:
            log.warning(
                "slack message event of the wrong shape ignored: %d problems", error.error_count()
            )
            return None
        change = thread_change(message)
        if change is None:
            return None
        parent = message.parent_author()
        ours = parent is not None and parent == context.bot_user_id
        try:
            accepted = await self._intake.accept_slack(
                dedupe_key(body, change), change, under_our_post=ours
            )
        except ThreadNotKnownYet as unknown:  # Slack sends it again: by then the card is known
            log.info("%s of %s asked again: %s", change.kind, change.ts, unknown)
            return BoltResponse(status=503, body="", headers={"Retry-After": "1"})
        if accepted:
            self._metrics.events_in.labels("slack").inc()
            log.info(
                "accepted %s of %s in thread %s",
                change.kind,
                change.ts,
                change.thread_ts,
                extra={"slack_ts": change.ts},
            )
        return None


def register(app: AsyncApp, door: FrontDoor, metrics: Metrics) -> None:
    listeners = ThreadMessages(door, metrics)
    app.event("message")(listeners.on_message)


def thread_change(event: MessageEvent) -> SlackReply | SlackEdit | SlackDeletion | None:
    """What a person did in a thread, or None for anything the bridge ignores.

    Ignored: bots (ours and others), top-level channel messages, and `message_changed` events that
    do not change the text (Slack sends those for unfurls and reply counts).
    """
    if event.subtype in _REPLY_SUBTYPES:
        if not event.by_person() or not event.in_thread():
            return None
        files = [found for f in event.files if isinstance(f, dict) and (found := shared_file(f))]
        return SlackReply(
            channel=event.channel,
            thread_ts=event.thread_ts,
            ts=event.ts,
            user=event.user,
            text=event.text or "",
            files=files,
        )
    if event.subtype == "message_changed":
        new, old = event.message, event.previous_message
        if new is None or not new.by_person() or not new.in_thread():
            return None
        if old is not None and new.text == old.text:
            return None
        return SlackEdit(
            channel=event.channel,
            thread_ts=new.thread_ts,
            ts=new.ts,
            user=new.user,
            text=new.text or "",
        )
    if event.subtype == "message_deleted":
        old = event.previous_message
        if old is None or not old.by_person() or not old.in_thread():
            return None
        return SlackDeletion(
            channel=event.channel, thread_ts=old.thread_ts, ts=event.deleted_ts or old.ts
        )
    return None


def shared_file(file: dict[str, Any]) -> SharedFile | None:
    """A file from a message event; one that comes as `file_access: "check_file_info"` (Slack
    Connect, some large files) has only its id: the rest is read through files.info."""
    url = file.get("url_private_download") or file.get("url_private") or ""
    if not file.get("id") and not url:
        return None
    return SharedFile(
        id=str(file.get("id") or url),
        name=str(file.get("name") or file.get("title") or "file"),
        url=str(url),
        mimetype=file.get("mimetype") if isinstance(file.get("mimetype"), str) else None,
    )


def dedupe_key(body: dict[str, Any], change: SlackReply | SlackEdit | SlackDeletion) -> str:
    """Slack's event id (the same on every retry), or a digest of the change without one."""
    if body.get("event_id"):
        return str(body["event_id"])
    return change.kind + ":" + hashlib.sha256(change.model_dump_json().encode()).hexdigest()
