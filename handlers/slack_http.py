"""POST /slack/events: Slack's Events API, the /chatra command and interactivity, over HTTP.

The signature is checked here, before Bolt (whose own check logs a refused request's whole body):
a request that is not Slack's gets a 401 and one line with its size and source, never its body.
"""

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_sdk.signature import SignatureVerifier

from bot.core.wire.slack import SlackEnvelope
from handlers.app_keys import BOLT, BOT_KNOWN
from handlers.bodies import BodyRefused, read_body
from handlers.chatra_webhook import MAX_BODY

log = logging.getLogger(__name__)
VERIFIER = web.AppKey("verifier", SignatureVerifier)  # made here, from the signing secret


def register(app: web.Application, signing_secret: str) -> None:
    app[VERIFIER] = SignatureVerifier(signing_secret)
    app.router.add_post("/slack/events", slack_events)


def signed_by_slack(verifier: SignatureVerifier, body: bytes, request: web.Request) -> bool:
    """Slack's HMAC over the body and a timestamp under 5 minutes old; a malformed header (a
    timestamp that is no number, a signature that is no ASCII) is no signature either."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    try:
        return (
            timestamp.isdigit()
            and signature.isascii()
            and verifier.is_valid(body, timestamp, signature)
        )
    except (ValueError, TypeError, UnicodeError):
        return False


async def slack_events(request: web.Request) -> web.Response:
    if not request.app[BOT_KNOWN].is_set():  # Slack sends it again: nothing is lost
        log.warning("slack request refused until Slack says who the bot is")
        headers = {"Retry-After": "10"}
        return web.json_response({"ok": False, "error": "starting"}, status=503, headers=headers)
    try:
        body = await read_body(request)
    except web.HTTPRequestEntityTooLarge:
        log.warning("slack request body over %d bytes refused", MAX_BODY)
        raise
    except BodyRefused as refused:
        log.warning("slack request refused: %s", refused)
        return refused.answer()
    if not signed_by_slack(request.app[VERIFIER], body, request):
        log.warning(
            "unsigned or badly signed slack request refused (%d bytes from %s)",
            len(body),
            request.remote,
        )
        return web.json_response({"ok": False, "error": "invalid signature"}, status=401)
    try:
        bolt_request = await to_bolt_request(request)
        SlackEnvelope.model_validate(bolt_request.body)  # Bolt's middleware trusts these fields
        bolt_response = await request.app[BOLT].async_dispatch(bolt_request)
    except Exception as error:
        # Bolt assumes well-formed bodies: bad JSON, JSON that is not an object, a `payload` that
        # is not JSON make it raise while parsing; odd field types make its middleware fail.
        # Listener errors never get here: Bolt answers those with its own 500.
        log.warning(
            "slack request with a malformed body (%s bytes): %s",
            request.content_length,
            type(error).__name__,
        )
        return web.json_response({"ok": False, "error": "malformed body"}, status=400)
    if bolt_response.status >= 400:
        log.warning("slack request refused (%d)", bolt_response.status)
    return await to_aiohttp_response(bolt_response)
