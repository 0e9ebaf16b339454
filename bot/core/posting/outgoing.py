"""A post owed to Slack (a notice, a warning, a nudge, a digest) is a row, written before
anything is called and at most once per key; the poster of its channel makes it (see
`bot.core.posting.poster`). A post in a chat's thread waits for the chat's card."""

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import asdict

from bot.core.slack_ui.blocks import SlackMessage
from storage import Store, Thread
from storage.inbox import ARRIVED

POSTED_WITHIN = 10.0  # seconds `posted` waits for a post's ts


class Outgoing:
    def __init__(self, store: Store, wake: Callable[[str], None]) -> None:
        self._store, self.wake = store, wake  # wake: the channel's poster, on this bridge

    async def post(
        self,
        key: str,
        channel: str,
        message: SlackMessage,
        *,
        thread: Thread | None = None,
        thread_ts: str | None = None,
    ) -> None:
        """Owe Slack `message` in `channel` (in a chat's `thread`, another thread, or the
        channel itself), once per `key`, and tell its poster."""
        owe = functools.partial(self.now, key, channel, message, thread=thread, thread_ts=thread_ts)
        await self._store.db.run("Outgoing.post", owe, "write")
        self.wake(channel)

    def now(
        self,
        key: str,
        channel: str,
        message: SlackMessage,
        *,
        thread: Thread | None = None,
        thread_ts: str | None = None,
    ) -> None:
        """The same, inside another unit of work: its poster is woken once the unit commits
        (through the database for other bridges; by `wake` on this one)."""
        body = json.dumps(asdict(message))
        thread_id = thread.id if thread is not None else None
        self._store.outbox.post.now(key, channel, body, thread_id=thread_id, thread_ts=thread_ts)
        self._store.db.notify(ARRIVED, f"post:{channel}")

    async def posted(self, key: str, within: float = POSTED_WITHIN) -> str | None:
        """The ts of the post owed under `key`, once made; None when it is not made within
        `within` seconds (or Slack refused it)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            made = await self._store.posts.get(key)
            if made is not None and made.ts:
                return made.ts
            if asyncio.get_running_loop().time() >= deadline:
                return None
            await asyncio.sleep(0.1)
