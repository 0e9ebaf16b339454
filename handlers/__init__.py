"""Thin adapters between Slack (through Bolt) and the core: parse, validate, call the bridge."""

from slack_bolt.async_app import AsyncApp

from bot.clients.metrics import Metrics
from bot.core.bridge import Bridge
from bot.core.home import Home
from bot.core.team import Team
from bot.core.visitor_tools import VisitorTools
from handlers import actions, commands, home, messages, views


def register(
    app: AsyncApp,
    bridge: Bridge,
    tools: VisitorTools,
    team: Team,
    home_tab: Home,
    metrics: Metrics,
) -> None:
    """Wire every Slack listener to the core."""
    messages.register(app, bridge, metrics)
    actions.register(app, bridge, tools)
    commands.register(app, tools, team)
    views.register(app, bridge, tools)
    home.register(app, home_tab)
