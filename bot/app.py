"""App assembly: one aiohttp server for Slack (through Bolt), the Chatra webhook and /healthz."""

import asyncio
import contextlib
import logging
import mimetypes
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import quote

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

import handlers
from bot import __version__, timers, wiring
from bot.clients.membrane import MembraneClient
from bot.clients.metrics import CONTENT_TYPE, Metrics
from bot.config import Settings
from bot.core.engine.loop_lag import LoopLag
from bot.core.engine.patience import patiently
from bot.core.rules.roster import Roster
from bot.server import StartRefused
from bot.socket_mode import SocketMode
from bot.wiring import Core
from handlers import chatra_webhook, slack_http
from handlers.app_keys import (
    BOLT,
    BOT_KNOWN,
    CLOCK,
    CORE,
    DATABASE,
    INTAKE,
    LEADERSHIP,
    LOOP_LAG,
    METRICS,
    SETTINGS,
    SOCKET_MODE,
)
from handlers.chatra_webhook import MAX_BODY
from handlers.refusals import count_refusals
from storage import DatabaseError, DatabaseUnavailable, Store, open_database
from storage.coordination import Leadership, listen
from storage.facts import machine_boot
from storage.inbox import ARRIVED

log = logging.getLogger(__name__)
BOLT_LOG = logging.getLogger("slack_bolt")


class _NotAboutTheToken(logging.Filter):
    """Bolt takes SLACK_BOT_TOKEN from the environment besides the client we give it, and warns
    at every start that it will not use it: true, and nothing to act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "token` will be unused" not in record.getMessage()


BOLT_LOG.addFilter(_NotAboutTheToken())


def create_app(settings: Settings, clock: Callable[[], float] = time.time) -> web.Application:
    """The bridge as an aiohttp app; `clock` tells the time to the escalation timers."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[count_refusals])
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_services)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/files/{token}/{name}", shared_file)
    if settings.slack_signing_secret is not None:  # without it, Slack comes over Socket Mode only
        slack_http.register(app, settings.slack_signing_secret.get_secret_value())
    chatra_webhook.register(app, settings.chatra_webhook_secret.get_secret_value())
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    """Open the database and the outside clients, start the worker; close all on the way out."""
    settings, counters, clock = app[SETTINGS], app[METRICS], app[CLOCK]
    # Opening runs statements (the schema, its migrations): off the loop, as every one does.
    db = await asyncio.to_thread(
        open_database, settings.database(), pool_size=settings.database_pool_size
    )
    db.observe = counters.unit_done
    store = Store.over(db, app[CLOCK])
    if not db.shared:  # one file, one bridge: whoever held its lanes before is gone
        await store.lanes.expire_all()
    await store.agents.link(settings.agent_links())
    await store.facts.serving(clock())  # a digest due before is not caught up on
    # One HTTP session for Slack and Membrane alike: no connection set up per call. slack_sdk's
    # own timeout does not apply to a session it is given: every call times out here.
    timeout = aiohttp.ClientTimeout(total=settings.slack_timeout, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        core = wiring.build(settings, store, session, counters, clock)
        earlier = settings.earlier_files_dir()
        if earlier is not None:
            await core.edges.files.adopt(earlier)
        boot = machine_boot()  # SQLite's unsynced commits survive anything but a reboot
        known = boot is not None and not db.shared
        await core.runtime.dispatch.started(
            rebooted=await store.facts.rebooted_since(boot) if known else None
        )
        bolt = AsyncApp(
            client=core.edges.bolt_client,
            # Socket Mode needs no signing secret: Bolt checks none for websocket envelopes.
            signing_secret=wiring.secret(settings.slack_signing_secret) or "",
            process_before_response=True,  # store first, then answer Slack
            request_verification_enabled=False,  # done before Bolt: handlers.slack_http
            logger=BOLT_LOG,
        )
        rotation = settings.planned_rotation(clock())
        if rotation is not None and await Roster(store.on_call, clock).rotate(rotation):
            log.info("on-call rotation from %s started", settings.oncall_rotation_file)
        handlers.register(bolt, core.door, counters)
        app[DATABASE], app[BOLT], app[CORE], app[INTAKE] = db, bolt, core, core.door.intake
        app[BOT_KNOWN] = asyncio.Event()
        leader = app[LEADERSHIP] = Leadership(db, settings.leader_check_seconds)
        lag = app[LOOP_LAG] = LoopLag(counters.loop_lag.observe)
        socket_mode = app[SOCKET_MODE] = _socket_mode(bolt, settings)
        try:  # before anything starts: a token Slack refuses stops it all
            bot = await _who_the_bot_is(bolt)
            if socket_mode is not None:
                await socket_mode.start()
        except StartRefused:
            await asyncio.to_thread(db.close)
            raise
        tasks = [
            asyncio.create_task(lag.watch(), name="loop-lag"),
            asyncio.create_task(
                _know_the_bot(bolt, core, app[BOT_KNOWN], bot), name="know-the-bot"
            ),
            asyncio.create_task(_learn_actions(core.edges.membrane), name="learn-actions"),
            asyncio.create_task(listen(db, ARRIVED, _telling(core)), name="listen"),
            asyncio.create_task(core.runtime.worker.run(), name="worker"),
            asyncio.create_task(core.runtime.posting.run(), name="posting"),
            asyncio.create_task(leader.run(), name="leadership"),
            *timers.start(core, settings, leader),
        ]
        log.info("chatra-bridge %s started (channel %s)", __version__, settings.slack_channel_id)
        try:
            yield
        finally:
            if socket_mode is not None:
                await socket_mode.close()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await asyncio.to_thread(db.close)


# Slack's answers to auth.test that no waiting mends: the bot token is wrong. What to do.
TOKEN_REFUSED = {
    "invalid_auth": "copy the Bot User OAuth Token (xoxb-...) again",
    "not_authed": "set SLACK_BOT_TOKEN",
    "token_revoked": "reinstall the app to the workspace and copy its new bot token",
    "token_expired": "reinstall the app to the workspace and copy its new bot token",
    "account_inactive": "reinstall the app to the workspace and copy its new bot token",
    "not_allowed_token_type": "it must be the bot token (xoxb-...)",
}
BOT_TOKEN_PAGE = "OAuth & Permissions -> Bot User OAuth Token"  # where the app's settings show it
FIRST_ASK = 10.0  # seconds auth.test is waited for at start; then the bridge starts and asks on


async def _who_the_bot_is(bolt: AsyncApp) -> AsyncSlackResponse | None:
    """Slack's answer to auth.test at start; None when Slack cannot be reached (waited out
    after); StartRefused, naming the fix, when Slack refuses the bot token."""
    try:
        async with asyncio.timeout(FIRST_ASK):
            return await bolt.client.auth_test()
    except SlackApiError as error:
        reason = str(error.response.get("error"))
        refused = StartRefused.by_slack(reason, "SLACK_BOT_TOKEN", TOKEN_REFUSED, BOT_TOKEN_PAGE)
        if refused is not None:
            raise refused from None
        return None
    except Exception:  # unreachable, timed out: asked again once the bridge runs
        return None


async def _know_the_bot(
    bolt: AsyncApp, core: Core, known: asyncio.Event, auth: AsyncSlackResponse | None
) -> None:
    """Ask Slack who the bot is (auth.test) until it answers, unless it did at start, and hand
    the answer to Bolt, which would otherwise ask on the first request, and drop that request if
    Slack is down then."""
    pause, asked = 1.0, 0
    while auth is None:
        try:
            auth = await bolt.client.auth_test()
            break
        except Exception as error:
            if not asked:  # one line, not one a try
                log.warning("Slack cannot say who the bot is yet (%s): asking again", error)
            asked += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)
    if asked:
        log.info("Slack says who the bot is, after %d tries", asked + 1)
    for middleware in bolt._async_middleware_list:  # Bolt keeps the answer here, once asked
        if isinstance(middleware, AsyncSingleTeamAuthorization):
            middleware.auth_test_result = auth
    slack = core.edges.slack
    slack.workspace_url = str(auth.get("url") or slack.workspace_url)
    slack.bot_user_id = str(auth.get("user_id") or "")
    known.set()


async def _learn_actions(membrane: MembraneClient) -> None:
    """Read each action's input schema once at start, so the first message waits for none."""
    try:
        shapes = await membrane.learn_actions()
    except Exception:  # a problem here only means the first run of each action reads it
        log.exception("reading the Chatra actions' schemas failed")
        return
    learnt = sum(shape.learnt for shape in shapes)
    log.info("Chatra actions: %d of %d with a published input schema", learnt, len(shapes))


def _telling(core: Core) -> Callable[[str | None], None]:
    """What another bridge notified: a channel owed a post (`post:<channel>`), told to its
    poster; an event's id, told to the worker; else (None or anything else) to look at every
    event."""

    def heard(note: str | None) -> None:
        if note and note.startswith("post:"):
            core.runtime.posting.wake(note.removeprefix("post:"))
        else:
            core.runtime.arrivals.stored(int(note) if note and note.isdigit() else None)

    return heard


def _socket_mode(bolt: AsyncApp, settings: Settings) -> SocketMode | None:
    """With SLACK_APP_TOKEN set, Slack's events come over a websocket instead of HTTP."""
    if settings.slack_app_token is None:
        return None
    token = settings.slack_app_token.get_secret_value()
    return SocketMode(bolt, token, settings.slack_api_url.rstrip("/") + "/")


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
