"""The real app against the sandboxes, driven over HTTP as Chatra and Slack drive it: signed Slack
requests, Chatra webhooks, waiting for effects. For the tests, the bench and the demo, so each
states only what is its own."""

import asyncio
import itertools
import json
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic_settings import BaseSettings

from bot.config import Settings
from bot.running.app import create_app
from handlers.app_keys import BOT_KNOWN, CORE
from sandbox import slack_wire
from sandbox.membrane import FakeMembrane
from sandbox.server import serve_locally, wait_for
from sandbox.slack import FakeSlack
from sandbox.slack_wire import BOT_USER_ID, TEAM_ID, signed
from storage.database import DatabaseUnavailable, is_url

MEMBRANE_TOKEN = (
    "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InNhbmRib3gifQ.c2FuZGJveA"  # JWT-shaped, as Membrane's
)


def settings_for(
    slack: FakeSlack,
    membrane: FakeMembrane,
    database: str | Path,
    *,
    signing_secret: str,
    webhook_secret: str,
    **more: Any,
) -> Settings:
    """The bridge's settings against `slack` and `membrane` and `database` (a SQLite file or a
    PostgreSQL URL); `more` adds or overrides any."""
    given = {
        "slack_bot_token": slack.token,
        "slack_signing_secret": signing_secret,
        "slack_channel_id": sorted(slack.channels)[0],
        "slack_api_url": slack.api_url,
        "membrane_connection_id": membrane.connection_id,
        "membrane_token": MEMBRANE_TOKEN,
        "membrane_api_url": membrane.url,
        "chatra_webhook_secret": webhook_secret,
    }
    where = "database_url" if is_url(database) else "database_path"
    given[where] = str(database)
    return SandboxSettings(**(given | more))


class SandboxSettings(Settings):
    """Settings from what is given alone: nothing from the environment or a .env file, so an
    unrelated or malformed setting there cannot change or stop a test, the bench or the demo."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: Any, **sources: Any
    ) -> tuple[Any, ...]:
        return (init_settings,)


_TRIGGERS = itertools.count(1)
SLACK_RETRIES = 3  # Slack sends an event again three times while it is not answered 2xx


def trigger_id() -> str:
    """A new one per command or click, as Slack gives them: a repeated one is a replay."""
    return f"{next(_TRIGGERS)}.{time.time_ns()}"


async def _settled(store: Any) -> bool:
    """Whether every stored event is carried out and everything owed to Slack is posted; not
    yet while the database is coming back."""
    try:
        return await store.inbox.count("pending") == 0 and await store.outbox.owed() == 0
    except DatabaseUnavailable:
        return False


class RunningApp:
    """The real app on a real port of 127.0.0.1; restartable on the same database."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.url = ""
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._http = aiohttp.ClientSession()

    async def start(self) -> "RunningApp":
        self.app = create_app(self.settings, self.clock)
        self._runner, self.url = await serve_locally(self.app)
        await wait_for(self.app[BOT_KNOWN].is_set, what="Slack's auth.test")
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def close(self) -> None:
        await self.stop()
        await self._http.close()

    async def settled(self, within: float = 5.0) -> None:
        """Wait until every stored event has been carried out and its posts made."""
        assert self.app is not None
        store, worker = self.app[CORE].runtime.store, self.app[CORE].runtime.worker
        await wait_for(lambda: _settled(store), within, "every event carried out and posted")
        await worker.drain()
        await wait_for(lambda: _settled(store), within, "every event carried out and posted")

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self._http.request(method, self.url + path, **kwargs) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text

    async def webhook(
        self, body: dict[str, Any] | bytes, secret: str | None = None
    ) -> tuple[int, Any]:
        secret = secret or self.settings.chatra_webhook_secret.get_secret_value()
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        return await self.request("POST", f"/chatra/webhook/{secret}", data=data, headers=headers)

    async def slack_post(
        self,
        body: bytes,
        content_type: str,
        *,
        retry_num: int | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, Any]:
        """POST /slack/events signed as Slack signs it."""
        signing_secret = secret or self.settings.slack_signing_secret.get_secret_value()
        headers = {"Content-Type": content_type, **signed(signing_secret, body, timestamp)}
        if retry_num:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.request("POST", "/slack/events", data=body, headers=headers)

    async def slack_event(
        self, event: dict[str, Any], event_id: str, *, resend: bool = True, **kwargs: Any
    ) -> tuple[int, Any]:
        """An event as Slack sends it: again (marked a retry) while the bridge answers 503, up
        to Slack's three retries, unless `resend` is false (a test of the 503 itself, or one
        that sends its own retry); the last answer."""
        status, answer = await self._event_once(event, event_id, **kwargs)
        for retry in range(1, SLACK_RETRIES + 1):
            if status != 503 or not resend or kwargs.get("retry_num"):
                break
            await asyncio.sleep(0.2 * retry)
            status, answer = await self._event_once(event, event_id, retry_num=retry, **kwargs)
        return status, answer

    async def _event_once(
        self, event: dict[str, Any], event_id: str, **kwargs: Any
    ) -> tuple[int, Any]:
        body = {
            "token": "legacy",
            "team_id": TEAM_ID,
            "api_app_id": "A0000APP",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        return await self.slack_post(json.dumps(body).encode(), "application/json", **kwargs)

    async def click(self, button: dict[str, Any], *, message_ts: str, user: str) -> tuple[int, Any]:
        """A person clicks `button` on the message at `message_ts` (interactivity payload)."""
        payload = slack_wire.block_actions(
            button, user, self.settings.slack_channel_id, trigger_id(), self._response_url(2)
        )
        payload["message"] = {"ts": message_ts, "type": "message"}
        payload["container"] = {"type": "message", "message_ts": message_ts}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return await self.slack_post(body, "application/x-www-form-urlencoded")

    async def message_shortcut(
        self, callback_id: str, message: dict[str, Any], user: str = "U0AGENT01"
    ) -> tuple[int, Any]:
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "team": {"id": TEAM_ID},
            "user": {"id": user},
            "channel": {"id": self.settings.slack_channel_id},
            "message": message,
            "trigger_id": trigger_id(),
            "action_ts": f"{time.time():.6f}",
            "response_url": self._response_url(3),
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return await self.slack_post(body, "application/x-www-form-urlencoded")

    async def submit(
        self, view: dict[str, Any], values: dict[str, str], user: str = "U0AGENT01"
    ) -> tuple[int, Any]:
        """A person fills `view`'s inputs with `values` and presses its submit button."""
        payload = slack_wire.view_submission(view, values, user, trigger_id())
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return await self.slack_post(body, "application/x-www-form-urlencoded")

    async def slash_command(self, text: str, user: str = "U0AGENT01") -> tuple[int, Any]:
        form = slack_wire.slash_command(
            text, user, self.settings.slack_channel_id, trigger_id(), self._response_url(1)
        )
        body = urllib.parse.urlencode(form).encode()
        return await self.slack_post(body, "application/x-www-form-urlencoded")

    def _response_url(self, n: int) -> str:
        return self.settings.slack_api_url.removesuffix("api/") + f"response/{n}"
