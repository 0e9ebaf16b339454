"""Refused requests counted on `/metrics`, by kind."""

from collections.abc import Awaitable, Callable

from aiohttp import web

from handlers.app_keys import METRICS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def count_refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A 4xx counts as bad input; a path or method that is none of ours (a scanner) as
    `not_found`, apart, so that it does not drown what Chatra or Slack sent wrong."""
    try:
        response = await handler(request)
    except web.HTTPClientError as refused:
        request.app[METRICS].failures.labels(_refusal(refused.status)).inc()
        raise
    if 400 <= response.status < 500:
        request.app[METRICS].failures.labels(_refusal(response.status)).inc()
    return response


def _refusal(status: int) -> str:
    return "not_found" if status in (404, 405) else "bad_input"
