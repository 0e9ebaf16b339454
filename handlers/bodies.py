"""Reading a request's body, the same way for Chatra's webhook and Slack's requests: whole,
within BODY_TIMEOUT, at most the app's client_max_size (1 MiB: 413), and refused with a 400 when
it cannot be read at all (a `Content-Encoding: gzip` that is not gzip)."""

import asyncio

from aiohttp import web

BODY_TIMEOUT = 10.0  # seconds to send a body: a slow sender holds nothing longer


class BodyRefused(Exception):
    """The body cannot be read: answered with `status`; `str()` says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status

    def answer(self) -> web.Response:
        """The refusal, on a connection that closes after it: what is left of the request
        on it cannot be told from the next one."""
        response = web.json_response({"ok": False, "error": str(self)}, status=self.status)
        response.force_close()
        return response


async def read_body(request: web.Request) -> bytes:
    """The whole body; web.HTTPRequestEntityTooLarge past the app's limit, BodyRefused when it
    comes too slowly or cannot be decoded."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            return await request.read()
    except TimeoutError:
        raise BodyRefused(408, f"body not sent within {BODY_TIMEOUT:g} s") from None
    except web.RequestPayloadError as error:
        request.content.feed_eof()  # nothing more of it is read: aiohttp would try, and fail
        why = getattr(error.__cause__, "message", None) or "its encoding is broken"
        raise BodyRefused(400, f"body cannot be read: {why}") from None
