"""What the leader tells the support channel now and then: outages over (how long, what waited)
and events that could not be carried out (at most once an hour, with a count)."""

import time

from bot.core.context import Context
from bot.core.engine.health import Health
from bot.core.posting import post_keys
from bot.core.slack_ui.notices import failed_events_notice, recovered_notice


class Reports:
    def __init__(self, context: Context, health: Health) -> None:
        store = context.store
        self._inbox, self._slack_posts = store.inbox, store.posts
        self._posts, self._channel = context.posts, context.policy.channel
        self.health = health

    async def recoveries(self) -> None:
        """Once an outage is over, tell the channel how long it lasted and what it delayed."""
        for outage in await self.health.ended():
            if outage.delayed:
                key = post_keys.recovered(outage.service, outage.since)
                await self._posts.post(key, self._channel, recovered_notice(outage))
            await self.health.told(outage)

    async def failed_events(self) -> None:
        """Tell the channel of events that could not be carried out since it was last told, at
        most once an hour, with a count."""
        last = await self._slack_posts.latest(post_keys.FAILED_EVENTS)
        if last is not None and time.time() - last.created_at < 3600:
            return
        reported = post_keys.last_event_of(last.key) if last else 0
        failed = await self._inbox.failed(after_id=reported)
        if failed:
            notice = failed_events_notice(len(failed), failed[-1].error)
            key = post_keys.failed_events(failed[-1].id)
            await self._posts.post(key, self._channel, notice)
