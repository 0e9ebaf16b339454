"""Builds the bridge once from Settings: the outside clients, then the core's use cases over
them. Every default is stated once, in Settings; nothing here relays keyword arguments."""

import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from bot.clients.failure_kinds import worth_waiting
from bot.clients.membrane import HttpTransport, MembraneClient, TokenSource, Transport
from bot.clients.membrane_cli import CliTransport
from bot.clients.metrics import Metrics
from bot.clients.shared_files import SharedFiles
from bot.clients.slack_api import SlackOut, make_web_client
from bot.config import Settings
from bot.core.audit import Audit
from bot.core.context import Context
from bot.core.dispatch import Dispatch
from bot.core.door import FrontDoor
from bot.core.engine.arrivals import Arrivals
from bot.core.engine.health import Health
from bot.core.engine.worker import Worker, WorkerHooks, WorkerSettings
from bot.core.intake import Intake
from bot.core.mirroring.cards import Cards
from bot.core.mirroring.chat_to_slack import ChatToSlack
from bot.core.mirroring.escalation import Escalation
from bot.core.people.access import Access
from bot.core.people.home import Home
from bot.core.people.online import Online
from bot.core.people.team import Team
from bot.core.people.visitor_tools import VisitorTools
from bot.core.ports import ChatraPort, FilePort
from bot.core.posting.outgoing import Outgoing
from bot.core.posting.pace import Budget
from bot.core.posting.poster import Setup
from bot.core.posting.posting import Posting
from bot.core.replies.changes import ReplyChanges
from bot.core.replies.chat_thread import ChatThread
from bot.core.replies.going import Endings
from bot.core.replies.held import Enqueue, HeldReplies
from bot.core.replies.life import ReplyLife
from bot.core.replies.mentions import MentionCheck
from bot.core.replies.parts import ReplyParts
from bot.core.replies.saved import SavedTexts
from bot.core.replies.sending import SlackToChatra
from bot.core.replies.to_visitor import ToVisitor
from bot.core.replies.writers import Writers
from bot.core.reports import Reports
from bot.core.rules.policy import Policy
from bot.core.rules.roster import Roster
from bot.core.slack_ui.views import card_of
from bot.core.stats.team_stats import Stats
from storage import Store

# The workspace's chat.update budget the bridge takes (appends, card redraws): Slack allows 50
# a minute; 5 are left for the rest (a question edited, a notice). In a busy channel appends
# are half again the posts Slack takes: bench.perf --only busy, p95 9 s -> 6 s.
UPDATES_PER_MINUTE, UPDATES_BURST = 45.0, 3
POSTING_RESCAN = 5.0  # seconds between looks at every channel owed something (a safety net)


@dataclass(frozen=True)
class Runtime:
    """What runs in the background: the worker, every channel's poster, the leader's jobs."""

    store: Store
    dispatch: Dispatch  # what the worker carries out
    worker: Worker
    posting: Posting  # every channel's poster: what is owed to Slack, made at its pace
    arrivals: Arrivals  # what the worker is told of
    health: Health  # what of the outside world is down, and since when
    reports: Reports  # outages over, events failed: told to the channel by the leader
    escalation: Escalation  # visitors waiting: nudged, then escalated, by the leader
    instance: str  # this bridge, among those sharing the database


@dataclass(frozen=True)
class Edges:
    """The outside world as the bridge reaches it."""

    membrane: MembraneClient
    files: SharedFiles
    slack: SlackOut
    bolt_client: AsyncWebClient  # for Bolt


@dataclass(frozen=True)
class Core:
    door: FrontDoor  # what the handlers call
    runtime: Runtime
    edges: Edges


def policy_of(settings: Settings) -> Policy:
    return Policy(
        channel=settings.slack_channel_id,
        dashboard_url=settings.chatra_dashboard_url,
        received_from=settings.chatra_received_from,
        default_agent=settings.chatra_default_agent_id,
        note_prefixes=tuple(p.strip() for p in settings.internal_note_prefixes.split(",")),
        echo_grace=settings.chatra_echo_grace,
        idle_gap=settings.chat_idle_gap_hours * 3600,
        nudge_after=settings.nudge_after_minutes * 60,
        escalate_after=settings.escalate_after_minutes * 60,
        opening_hours=settings.opening_hours(),
        away_message=settings.away_message,
        timezone=settings.business_timezone,
        allowed_users=frozenset(
            u.strip() for u in (settings.allowed_users or "").split(",") if u.strip()
        ),
        allowed_usergroup=settings.allowed_usergroup,
        routes=settings.routes(),
        digest_at=settings.digest_time(),
        ask_before_mentions=settings.ask_before_mentions,
        rating_alert_at=settings.rating_alert_at,
    )


def build(
    settings: Settings,
    store: Store,
    session: aiohttp.ClientSession,
    metrics: Metrics,
    clock: Callable[[], float] = time.time,
) -> Core:
    policy, health = policy_of(settings), Health(store.outages)
    instance = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
    token = settings.slack_bot_token.get_secret_value()
    web_client = make_web_client(
        token, settings.slack_api_url, session, health, settings.slack_timeout
    )
    slack = SlackOut(web_client, health=health, metrics=metrics)
    membrane = membrane_client(settings, session, metrics, health)
    files = SharedFiles(
        session,
        bot_token=token,
        slack_api_url=settings.slack_api_url,
        files=store.files,
        public_url=settings.public_url,
        secret=settings.chatra_webhook_secret.get_secret_value(),
        file_info=slack.file_info,
        keep_days=settings.files_retention_days,
        max_bytes=int(settings.files_max_mb * 2**20),
    )
    roster = Roster(store.on_call, clock)
    audit = Audit(lambda action: metrics.actions.labels(action).inc())
    dashboard = policy.dashboard_url
    posting = Posting(
        Setup(
            store,
            slack,
            holder=instance,
            lease=settings.lane_lease_seconds,
            updates=Budget.of(UPDATES_BURST, UPDATES_PER_MINUTE / 60, None),
            burst=settings.slack_post_burst,
            per_second=settings.slack_posts_per_second,
            support=policy.channel,
            card_for=lambda chat, opening: card_of(chat, dashboard, opening),
            redraw=lambda chat: card_of(chat, dashboard),
            judge=worth_waiting,
            waited=lambda key: health.waited(key, "chatra"),
        ),
        rescan=POSTING_RESCAN,
    )
    posts = Outgoing(store, posting.wake)
    context = Context(slack, posts, store, roster, clock, policy, audit)
    arrivals = Arrivals()
    intake = Intake(
        store,
        health,
        arrivals,
        policy.received_from,
        holder=instance,
        lease=settings.lane_lease_seconds,
    )
    access = Access(context)
    replies, changes = slack_to_chatra(context, membrane, files, intake, access)
    parts = replies.parts
    dispatch = Dispatch(context, ChatToSlack(context), replies, changes)
    worker = Worker(
        store,
        dispatch.process,
        arrivals,
        WorkerSettings(instance, settings.lane_lease_seconds, settings.inbox_rescan_seconds),
        WorkerHooks(
            judge=worth_waiting,
            failed=lambda kind: metrics.failures.labels(kind).inc(),
            waiting=health.waited,
            name_of=dispatch.chat_name,
        ),
    )
    stats = Stats(context, files)
    online = Online(context, membrane, settings.chatra_online_every_seconds)
    door = FrontDoor(
        intake=intake,
        seen=store.seen,
        access=access,
        cards=Cards(context, access),
        held=parts.held,
        mentions=parts.mentions,
        saved=parts.saved,
        visitors=VisitorTools(context, membrane),
        team=Team(context),
        online=online,
        home=Home(context, stats, access, online),
        stats=stats,
        channel=policy.channel,
    )
    runtime = Runtime(
        store=store,
        dispatch=dispatch,
        worker=worker,
        posting=posting,
        arrivals=arrivals,
        health=health,
        reports=Reports(context, health),
        escalation=Escalation(context),
        instance=instance,
    )
    # Bolt's client is without the shared session: Bolt deep-copies each request (its client
    # with it) for its lazy listeners, and a live session cannot be copied.
    bolt_client = make_web_client(
        token, settings.slack_api_url, None, health, settings.slack_timeout
    )
    return Core(door, runtime, Edges(membrane, files, slack, bolt_client))


def slack_to_chatra(
    context: Context, chatra: ChatraPort, files: FilePort, enqueue: Enqueue, access: Access
) -> tuple[SlackToChatra, ReplyChanges]:
    """A reply's journey (written, held, asked about, sent) and its edits and deletes."""
    life, chat_thread = ReplyLife(context.store.messages), ChatThread(context)
    writers, held = Writers(context), HeldReplies(context, life, enqueue)
    mentions, saved = MentionCheck(context, life, held), SavedTexts(context)
    endings = Endings(context, life, chat_thread)
    to_visitor = ToVisitor(context, chatra, life, writers, held, endings)
    parts = ReplyParts(chat_thread, writers, held, mentions, saved, endings, to_visitor)
    changes = ReplyChanges(context, chatra, files, life, parts)
    return SlackToChatra(context, files, access, parts), changes


def membrane_transport(settings: Settings, session: aiohttp.ClientSession) -> Transport:
    """Membrane's HTTP API, or the `membrane` command with MEMBRANE_TRANSPORT=cli."""
    connection = settings.membrane_connection_id
    if settings.membrane_transport == "cli":
        return CliTransport(
            settings.membrane_cli,
            connection_id=connection,
            timeout=settings.membrane_timeout,
            processes=settings.membrane_cli_processes,
            action_ids=settings.action_ids(),
        )
    tokens = TokenSource(
        secret(settings.membrane_token),
        workspace_key=settings.membrane_workspace_key,
        workspace_secret=secret(settings.membrane_workspace_secret),
        tenant_key=settings.membrane_tenant_key,
    )
    return HttpTransport(
        session,
        base_url=settings.membrane_api_url,
        connection_id=connection,
        tokens=tokens,
        timeout=settings.membrane_timeout,
        action_ids=settings.action_ids(),
    )


def membrane_client(
    settings: Settings,
    session: aiohttp.ClientSession,
    metrics: Metrics | None = None,
    health: Health | None = None,
) -> MembraneClient:
    return MembraneClient(
        membrane_transport(settings, session),
        attempts=settings.membrane_retry_attempts,
        base_delay=settings.membrane_retry_base_delay,
        metrics=metrics,
        received_from=settings.chatra_received_from,
        health=health,
        online_action=settings.chatra_online_action or None,
    )


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
