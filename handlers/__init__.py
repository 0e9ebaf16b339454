"""Thin adapters between Slack (through Bolt) and the core: parse, validate, call the bridge."""

from slack_bolt.async_app import AsyncApp

from bot.bridge import Bridge
from bot.home import Home
from bot.metrics import Metrics
from bot.team import Team
from bot.visitor_tools import VisitorTools
from handlers import actions, commands, home, messages, views
from handlers.background import Background


def register(
    app: AsyncApp,
    bridge: Bridge,
    tools: VisitorTools,
    team: Team,
    home_tab: Home,
    metrics: Metrics,
) -> None:
    """Wire every Slack listener to the core."""
    later = Background()
    messages.register(app, bridge, metrics)
    actions.register(app, bridge, tools, later)
    commands.register(app, tools, team, later)
    views.register(app, bridge, tools, later)
    home.register(app, home_tab)
