"""The bridge's own HTTP endpoints: /healthz for a load balancer, /metrics for Prometheus, and
/files/... for what an agent shared with a visitor."""

import asyncio
import logging
import mimetypes
import time
from urllib.parse import quote

from aiohttp import web

from bot import __version__
from bot.clients.metrics import CONTENT_TYPE
from bot.core.door import DatabaseError, DatabaseUnavailable, patiently
from handlers.app_keys import CORE, DATABASE, LEADERSHIP, LOOP_LAG, METRICS, SOCKET_MODE

log = logging.getLogger(__name__)


def register(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/files/{token}/{name}", shared_file)


async def shared_file(request: web.Request) -> web.StreamResponse:
    """A file an agent shared with a visitor. Served as a download unless it is a picture, so
    nothing shared can run as a page of ours."""
    stored = await request.app[CORE].edges.files.stored(request.match_info["token"])
    if stored is None:
        raise web.HTTPNotFound(text="not found")
    kind = mimetypes.guess_type(stored.name)[0] or "application/octet-stream"
    picture = kind in ("image/png", "image/jpeg", "image/gif", "image/webp")
    disposition = "inline" if picture else f"attachment; filename*=UTF-8''{quote(stored.name)}"
    headers = {
        "Content-Type": kind if picture else "application/octet-stream",
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400",
    }
    return web.Response(body=stored.body, headers=headers)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus' text format; what is waiting is counted at each scrape."""
    counters = request.app[METRICS]
    runtime = request.app[CORE].runtime
    counters.waiting.set(len(runtime.worker.retrying))
    counters.db_waiting.set(request.app[DATABASE].waiting)
    down = runtime.health.down()
    for service in ("slack", "membrane"):
        counters.down.labels(service).set(int(service in down))
    try:
        counters.inbox.set(await runtime.store.inbox.count("pending"))
        counters.posts_waiting.set(await runtime.store.outbox.owed())
        counters.held.set(len(await runtime.store.messages.held()))
    except DatabaseError as error:  # locked or gone: the gauges keep their last value
        log.warning("metrics without database counts: %s", error)
    return web.Response(body=counters.render(), headers={"Content-Type": CONTENT_TYPE})


async def healthz(request: web.Request) -> web.Response:
    """200 while the bridge can do its work: `"status": "degraded"` names what of the outside
    world is down and since when (events wait for it, none is lost); 503 when the database cannot
    be written, checked by a write probe off the event loop. Answered within INTAKE_PATIENCE
    however busy the database is: a lock held for long is a 503 that says so."""
    runtime = request.app[CORE].runtime
    inbox = runtime.store.inbox
    try:
        async with patiently("the health check"):
            problem = await asyncio.to_thread(request.app[DATABASE].write_problem)
            if problem is not None:
                raise DatabaseUnavailable(problem)
            counts = await request.app[DATABASE].run(
                "healthz",
                lambda: {
                    "pending_events": inbox.count.now("pending"),
                    "failed_events": inbox.count.now("failed"),
                    "owed_posts": runtime.store.outbox.owed.now(),  # to Slack: cards, messages...
                },  # not on intake's threads: a lock on what it counts must not stall intake
            )
    except DatabaseError as error:
        return web.json_response({"ok": False, "database": str(error)}, status=503)
    health = runtime.health
    down, refusing = health.down(), health.refusing_channels()
    socket_mode = request.app[SOCKET_MODE] and request.app[SOCKET_MODE].down()
    return web.json_response(
        {
            "ok": True,
            "status": "degraded" if down or refusing or socket_mode else "ok",
            "database": "ok",
            "version": __version__,
            "instance": runtime.instance,
            "leader": request.app[LEADERSHIP].leading,
            **counts,
            "waiting_events": len(runtime.worker.retrying),  # waiting out a failure
            "loop_lag": request.app[LOOP_LAG].recent(),  # how late the loop ran, last minute
            "database_waiting": request.app[DATABASE].waiting,  # units waiting for a thread
            "down": {
                service: {"since": _when(outage.since), "reason": outage.reason}
                for service, outage in down.items()
            }
            | (
                {"slack_socket_mode": {**socket_mode, "since": _when(socket_mode["since"])}}
                if socket_mode
                else {}
            ),
            "channels": {  # channels that refuse the bot: their chats wait, or go elsewhere
                channel: {"since": _when(refusal.since), "reason": refusal.reason}
                for channel, refusal in refusing.items()
            },
        }
    )


def _when(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
