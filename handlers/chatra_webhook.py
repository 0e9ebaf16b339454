"""POST /chatra/webhook/{secret}: check the secret in the path, validate, store, answer."""

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from bot.bridge import Bridge
from bot.events import CHAT_EVENTS, ChatraWebhook, repaired
from bot.metrics import METRICS

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.Response]]
MAX_BODY = 1024 * 1024
BRIDGE = web.AppKey("bridge", Bridge)


def make_webhook_handler(secret: str) -> Handler:
    """The webhook handler, bound to the secret that ends the webhook URL."""
    expected = secret.encode()
    unknown_logged: set[str] = set()

    async def chatra_webhook(request: web.Request) -> web.Response:
        given = request.match_info.get("secret", "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("chatra webhook with a wrong secret from %s", request.remote)
            raise web.HTTPNotFound(text="not found")
        try:
            raw = await request.read()  # refuses more than the app's client_max_size (1 MiB)
        except web.HTTPRequestEntityTooLarge:
            log.warning("chatra webhook body over %d bytes refused", MAX_BODY)
            raise
        try:
            data = repaired(json.loads(raw.decode("utf-8")))
        except ValueError:  # UnicodeDecodeError is one too
            log.warning("chatra webhook body is not UTF-8 JSON (%d bytes)", len(raw))
            return _problem(400, "body is not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("eventName"), str):
            log.warning("chatra webhook without an eventName")
            return _problem(422, "not a Chatra webhook: eventName missing")
        if data["eventName"] not in CHAT_EVENTS:
            if data["eventName"] not in unknown_logged and len(unknown_logged) < 100:
                unknown_logged.add(data["eventName"])
                log.info("ignoring Chatra event %r (logged once)", data["eventName"][:100])
            return web.json_response({"ok": True, "ignored": "unknown event"})
        try:
            webhook = ChatraWebhook.model_validate(data)
        except ValidationError as error:
            where = ", ".join(".".join(map(str, e["loc"])) for e in error.errors()[:5])
            log.warning("chatra webhook of the wrong shape: %s", where)
            return _problem(422, f"not a Chatra webhook: bad or missing {where}")
        body = json.dumps(data, ensure_ascii=False)  # as received, lone surrogates repaired
        stored = request.app[BRIDGE].accept_chatra(body, webhook)
        if stored:
            request.app[METRICS].events_in.labels("chatra").inc()
            chat = webhook.client.id
            log.info("chatra %s for chat %s stored", webhook.eventName, chat, extra={"chat": chat})
        return web.json_response({"ok": True, "duplicate": not stored})

    return chatra_webhook


def _problem(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)
