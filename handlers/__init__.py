"""Thin adapters between Slack (through Bolt) and the core: parse, validate, call a use case."""

from slack_bolt.async_app import AsyncApp

from bot.clients.metrics import Metrics
from bot.core.door import FrontDoor
from handlers import actions, app_home, commands, failures, gate, messages, modals, reactions


def register(app: AsyncApp, door: FrontDoor, metrics: Metrics) -> None:
    """Wire every Slack listener to the core, behind the gate."""
    failures.register(app)
    gate.register(app, door)
    messages.register(app, door, metrics)
    actions.register(app, door)
    commands.register(app, door)
    modals.register(app, door)
    app_home.register(app, door)
    reactions.register(app, door)
