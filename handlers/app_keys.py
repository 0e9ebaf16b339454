"""The aiohttp AppKeys the assembly (`bot.running.app`) fills and the edges here read: declared
below the assembly, since handlers never import it. A key an edge makes itself is declared
with it (`slack_http.VERIFIER`).

Types the handlers may not import at run time (storage, the assembly) are named for the type
checker only; the key itself needs nothing but its name."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.clients.metrics import Metrics
from bot.config import Settings
from bot.core.door import Intake

if TYPE_CHECKING:
    from bot.core.engine.loop_lag import LoopLag
    from bot.running.wiring import Core
    from handlers.socket_mode import SocketMode
    from storage import Database
    from storage.coordination import Leadership

SETTINGS = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
METRICS = web.AppKey("metrics", Metrics)
LOOP_LAG: web.AppKey[LoopLag] = web.AppKey("loop_lag")
DATABASE: web.AppKey[Database] = web.AppKey("database")
CORE: web.AppKey[Core] = web.AppKey("core")
LEADERSHIP: web.AppKey[Leadership] = web.AppKey("leadership")
SOCKET_MODE: web.AppKey[SocketMode | None] = web.AppKey("socket_mode")
INTAKE = web.AppKey("intake", Intake)
BOLT = web.AppKey("bolt", AsyncApp)
BOT_KNOWN = web.AppKey("bot_known", asyncio.Event)  # Slack's auth.test answered: Bolt can work
