"""What the tests share: the sandboxed app, Chatra's webhook bodies, waiting for effects."""

from bot.sandboxed import RunningApp
from sandbox.chatra import agent_says, chat_event, visitor_says
from sandbox.server import wait_for

__all__ = ["RunningApp", "agent_says", "chat_event", "visitor_says", "wait_for"]
