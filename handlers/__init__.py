"""Thin adapters between Slack (through Bolt) and the core: parse, validate, call a use case."""

from typing import Protocol

from slack_bolt.async_app import AsyncApp

from bot.clients.metrics import Metrics
from bot.core.bridge import Bridge
from bot.core.people.access import Access
from bot.core.people.home import Home
from bot.core.people.team import Team
from bot.core.people.visitor_tools import VisitorTools
from handlers import actions, commands, failures, gate, home, messages, views


class UseCases(Protocol):
    """What the listeners call: `bot.wiring.Core` has it all."""

    seen: gate.Seen  # requests already carried out
    bridge: Bridge
    access: Access
    visitors: VisitorTools
    team: Team
    home: Home


def register(app: AsyncApp, core: UseCases, metrics: Metrics) -> None:
    """Wire every Slack listener to the core, behind the gate."""
    failures.register(app)
    gate.register(app, core.access, core.seen)
    messages.register(app, core.bridge, metrics)
    actions.register(app, core.bridge, core.visitors)
    commands.register(app, core.visitors, core.team)
    views.register(app, core.bridge, core.visitors)
    home.register(app, core.home)
