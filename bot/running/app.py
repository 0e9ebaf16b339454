"""App assembly: one aiohttp server for Slack (through Bolt), the Chatra webhook and the bridge's
own endpoints (handlers/), with the database, the clients and the background work started and
stopped with it."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_sdk.web.async_slack_response import AsyncSlackResponse

import handlers
from bot import __version__
from bot.clients.membrane import MembraneClient
from bot.clients.metrics import Metrics
from bot.clients.slack_start import StartRefused, who_the_bot_is
from bot.config import Settings
from bot.core.engine.backoff import RECONNECT
from bot.core.engine.loop_lag import LoopLag
from bot.core.rules.roster import Roster
from bot.running import timers, wiring
from bot.running.wiring import Core
from handlers import chatra_webhook, service, slack_http
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
from handlers.socket_mode import SocketMode
from storage import Store, open_database
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
    service.register(app)
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
            bot = await who_the_bot_is(bolt.client)
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
            asyncio.create_task(
                listen(db, ARRIVED, _telling(core), RECONNECT.delay), name="listen"
            ),
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


async def _know_the_bot(
    bolt: AsyncApp, core: Core, known: asyncio.Event, auth: AsyncSlackResponse | None
) -> None:
    """Ask Slack who the bot is (auth.test) until it answers, unless it did at start, and hand
    the answer to Bolt, which would otherwise ask on the first request, and drop that request if
    Slack is down then."""
    asked = 0
    while auth is None:
        try:
            auth = await bolt.client.auth_test()
            break
        except Exception as error:
            if not asked:  # one line, not one a try
                log.warning("Slack cannot say who the bot is yet (%s): asking again", error)
            asked += 1
            await asyncio.sleep(RECONNECT.delay(asked))
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
    return SocketMode(bolt, token, settings.slack_api_url.rstrip("/") + "/", RECONNECT.delay)
