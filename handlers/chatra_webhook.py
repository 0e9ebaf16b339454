"""POST /chatra/webhook/{secret}: check the secret in the path, store what names a client, answer.

Detail is read later, by the worker: a message of an odd shape must not cost the webhook."""

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.core.door import DatabaseError
from bot.core.wire.chatra import (
    CHAT_EVENTS,
    MAX_BODY,
    NotAWebhook,
    client_id_of,
    parse_webhook_body,
)
from handlers.app_keys import INTAKE, METRICS
from handlers.bodies import BodyRefused, read_body

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.Response]]


def register(app: web.Application, secret: str) -> None:
    """Chatra's webhook, at the URL that ends with the secret (the only thing Chatra signs with)."""
    app.router.add_post("/chatra/webhook/{secret}", make_webhook_handler(secret))


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
            raw = await read_body(request)
        except web.HTTPRequestEntityTooLarge:
            log.warning("chatra webhook body over %d bytes refused", MAX_BODY)
            raise
        except BodyRefused as refused:
            log.warning("chatra webhook refused: %s", refused)
            return refused.answer()
        try:
            data = parse_webhook_body(raw)
        except NotAWebhook as refused:
            log.warning("chatra webhook refused (%d bytes): %s", len(raw), refused)
            return _problem(refused.status, str(refused))
        if data["eventName"] not in CHAT_EVENTS:
            if data["eventName"] not in unknown_logged and len(unknown_logged) < 100:
                unknown_logged.add(data["eventName"])
                log.info("ignoring Chatra event %r (logged once)", data["eventName"][:100])
            return web.json_response({"ok": True, "ignored": "unknown event"})
        body = raw.decode("utf-8")  # stored as received: the worker reads it as intake did
        try:
            stored = await request.app[INTAKE].accept_chatra(body, data)
        except DatabaseError as error:  # locked, unreachable, or the disk is full
            log.warning("chatra webhook not stored, asked to send it again: %s", error)
            response = _problem(503, "cannot store it right now: send it again")
            response.headers["Retry-After"] = "5"
            return response
        if stored:
            request.app[METRICS].events_in.labels("chatra").inc()
            chat = client_id_of(data)
            log.info("chatra %s for chat %s stored", data["eventName"], chat, extra={"chat": chat})
        return web.json_response({"ok": True, "duplicate": not stored})

    return chatra_webhook


def _problem(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)
