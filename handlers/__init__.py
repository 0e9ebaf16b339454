"""Thin adapters between Slack (through Bolt) and the core: parse, validate, call a use case."""

from slack_bolt.async_app import AsyncApp

from bot.clients.metrics import Metrics
from bot.core.use_cases import UseCases
from handlers import actions, app_home, commands, failures, gate, messages, modals, reactions


def register(app: AsyncApp, core: UseCases, metrics: Metrics) -> None:
    """Wire every Slack listener to the core, behind the gate."""
    failures.register(app)
    gate.register(app, core.access, core.seen)
    messages.register(app, core.intake, metrics)
    actions.register(app, core)
    commands.register(app, core.visitors, core.team, core.stats, core.replies.saved, core.online)
    modals.register(app, core)
    app_home.register(app, core.home)
    reactions.register(app, core)
