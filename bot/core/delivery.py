"""Each keyed Slack post appears once, across retries, lost answers and crashes.

The intent is stored before posting, and the post carries its key in Slack message metadata. When a
try ends in doubt (a crash, a dropped connection, a 5xx after Slack may have posted), the next try
first looks for a message with that key in the channel or thread and adopts it.
"""

import asyncio
from typing import NamedTuple, Protocol
from weakref import WeakValueDictionary

from bot.core.blocks import SlackMessage
from storage import SlackPosts


class Posted(NamedTuple):
    channel: str  # where Slack put it: a DM posted to a user id is at the DM's own D… id
    ts: str


class SlackPoster(Protocol):
    async def post(
        self, channel: str, message: SlackMessage, thread_ts: str | None = None, key: str = ""
    ) -> Posted: ...

    async def find_posted(
        self, channel: str, thread_ts: str | None, key: str, since: float
    ) -> str | None: ...


class SlackDelivery:
    def __init__(self, slack: SlackPoster, posts: SlackPosts) -> None:
        self._slack = slack
        self._posts = posts
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    async def post(
        self, key: str, channel: str, message: SlackMessage, thread_ts: str | None = None
    ) -> str:
        """Post `message` unless the post for `key` already exists; returns its ts either way."""
        lock = self._locks.setdefault(key, asyncio.Lock())  # two tasks, one key: one post
        async with lock:
            return await self._post_once(key, channel, message, thread_ts)

    async def _post_once(
        self, key: str, channel: str, message: SlackMessage, thread_ts: str | None
    ) -> str:
        record = self._posts.get(key)
        if record is not None and record.ts:
            return record.ts
        if record is None:
            self._posts.intend(key, channel, thread_ts)
        elif not is_person(channel):  # a DM cannot be read back (no im:history): post again
            found = await self._slack.find_posted(channel, thread_ts, key, record.created_at)
            if found:
                self._posts.posted(key, found, channel)
                return found
        posted = await self._slack.post(channel, message, thread_ts, key=key)
        self._posts.posted(key, posted.ts, posted.channel)
        return posted.ts


def is_person(channel: str) -> bool:
    """A user id: posting to it writes in the app's DM with them."""
    return channel.startswith(("U", "W"))
