"""Slack's events over Socket Mode (SLACK_APP_TOKEN): a websocket the bridge opens to Slack.

A token Slack refuses stops the start in one line: no waiting mends it. A Slack that cannot be
reached is waited out in the background, with backoff: the bridge is ready meanwhile (webhooks
are stored, `/healthz` says degraded and why), and the log gets one line when the connection is
lost and one when it is back, not slack_sdk's traceback every ten seconds."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clients.slack_start import StartRefused

log = logging.getLogger(__name__)
SDK_LOG = logging.getLogger("handlers.socket_mode.sdk")  # slack_sdk's own lines: its retries
SDK_LOG.setLevel(logging.CRITICAL)  # the watch below says what changed, once
REFUSED = {
    "invalid_auth": "copy the app-level token again",
    "not_authed": "copy the app-level token again",
    "token_revoked": "create a new app-level token",
    "account_inactive": "create a new app-level token",
    "not_allowed_token_type": "it must be an app-level token (xapp-...), not the bot's",
    "missing_scope": "give the app-level token the connections:write scope",
}
APP_TOKEN_PAGE = "Basic Information -> App-Level Tokens"  # where the app's settings show it
CHECK_TIMEOUT = 10.0  # seconds for apps.connections.open at start
WATCH_EVERY = 2.0  # seconds between looks at the connection


class SocketMode:
    def __init__(
        self, bolt: AsyncApp, app_token: str, api_url: str, pause: Callable[[int], float]
    ) -> None:
        """`pause(n)`: the seconds before trying to connect again after `n` failures."""
        self._bolt, self._token, self._api_url, self._pause = bolt, app_token, api_url, pause
        self._handler: AsyncSocketModeHandler | None = None  # once Slack took the token
        self._task: asyncio.Task[None] | None = None
        self.down_since: float | None = None
        self.reason = ""
        self._connected_once = False

    async def start(self) -> None:
        """StartRefused when Slack refuses the token; else connect, now or in the background."""
        reachable = await self._token_works()
        self._handler = AsyncSocketModeHandler(self._bolt, self._token, logger=SDK_LOG)
        self._task = asyncio.create_task(
            self._keep_connected(self._handler, reachable), name="socket-mode"
        )

    def down(self) -> dict[str, Any] | None:
        """For /healthz: since when the websocket is not connected, and why."""
        if self.down_since is None:
            return None
        return {"since": self.down_since, "reason": self.reason}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._handler is not None:
            with contextlib.suppress(Exception):
                await self._handler.close_async()

    async def _token_works(self) -> bool:
        """Whether Slack answered; StartRefused when its answer is that the token is wrong."""
        client = AsyncWebClient(base_url=self._api_url, timeout=CHECK_TIMEOUT)
        try:
            await client.apps_connections_open(app_token=self._token)
            return True
        except SlackApiError as error:
            reason = str(error.response.get("error"))
            refused = StartRefused.by_slack(reason, "SLACK_APP_TOKEN", REFUSED, APP_TOKEN_PAGE)
            if refused is not None:
                raise refused from None
            self._lost(f"Slack answered {reason or error.response.status_code}")
        except Exception as error:  # unreachable, timed out: waited out
            self._lost(f"cannot reach Slack ({type(error).__name__})")
        return False

    async def _keep_connected(self, handler: AsyncSocketModeHandler, reachable: bool) -> None:
        """Connect, with backoff while Slack cannot be reached; then watch the connection
        slack_sdk keeps (it reconnects by itself) and say when it changes."""
        client, failures = handler.client, 0
        while not reachable:
            failures += 1
            await asyncio.sleep(self._pause(failures))
            try:
                async with asyncio.timeout(CHECK_TIMEOUT):
                    client.wss_uri = await client.issue_new_wss_url()
                reachable = True
            except Exception as error:
                self._lost(f"cannot reach Slack ({type(error).__name__})")
        await handler.connect_async()
        while True:
            if await client.is_connected():
                self._back()
            else:
                self._lost("the websocket to Slack is down")
            await asyncio.sleep(WATCH_EVERY)

    def _lost(self, reason: str) -> None:
        if self.down_since is None:
            self.down_since = time.time()
            log.warning("Slack events over Socket Mode wait: %s; trying again", reason)
        self.reason = reason

    def _back(self) -> None:
        if self.down_since is not None:
            waited = time.time() - self.down_since
            log.info("Slack events come over Socket Mode again, after %.0f s", waited)
        elif not self._connected_once:
            log.info("Slack events come over Socket Mode")
        self._connected_once = True
        self.down_since = None
