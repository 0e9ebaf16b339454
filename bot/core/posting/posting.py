"""Every channel's poster, started when its channel is owed something and ending when it is
owed nothing: woken by whatever owes it a post (this bridge's units, or another bridge's through
the database), and by a look at every channel now and then."""

import asyncio
import contextlib
import logging

from bot.core.posting.poster import Poster, Setup

log = logging.getLogger(__name__)


class Posting:
    def __init__(self, setup: Setup, rescan: float) -> None:
        self._setup, self._rescan = setup, rescan
        self._posters: dict[str, tuple[Poster, asyncio.Task[None]]] = {}
        self._stopping = False

    def wake(self, channel: str) -> None:
        """`channel` is owed something: its poster posts it (started if need be)."""
        if self._stopping:  # what is owed stays owed: the next start posts it
            return
        running = self._posters.get(channel)
        if running is not None and not running[1].done():
            running[0].wake()
            return
        poster = Poster(channel, self._setup, self.wake)
        task = asyncio.create_task(self._post(poster), name=f"posting to {channel}")
        self._posters[channel] = (poster, task)

    async def _post(self, poster: Poster) -> None:
        try:
            await poster.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: the next look at every channel starts it again
            log.exception("posting to %s stopped", poster.channel)

    async def run(self) -> None:
        """Look at every channel now and then (what another bridge let go, what nobody told
        of), until cancelled; then stop every poster."""
        try:
            while True:
                try:
                    for channel in await self._setup.store.outbox.channels():
                        self.wake(channel)
                except Exception as error:  # the database is down: looked at again soon
                    log.warning("cannot read what Slack is owed (%s)", error)
                await asyncio.sleep(self._rescan)
        finally:
            self._stopping = True
            tasks = [task for _, task in self._posters.values()]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
