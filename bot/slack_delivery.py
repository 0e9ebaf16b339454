"""Each keyed Slack post appears once, across retries, lost answers and crashes.

The intent is stored before posting, and the post carries its key in Slack message metadata. When a
try ends in doubt (a crash, a dropped connection, a 5xx after Slack may have posted), the next try
first looks for a message with that key in the channel or thread and adopts it.
"""

import asyncio
from typing import Protocol
from weakref import WeakValueDictionary

from bot.slack_views import SlackMessage
from storage import SlackPosts


class SlackPoster(Protocol):
    async def post(
        self, channel: str, message: SlackMessage, thread_ts: str | None = None, key: str = ""
    ) -> str: ...

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
        else:
            found = await self._slack.find_posted(channel, thread_ts, key, record.created_at)
            if found:
                self._posts.posted(key, found)
                return found
        ts = await self._slack.post(channel, message, thread_ts, key=key)
        self._posts.posted(key, ts)
        return ts
