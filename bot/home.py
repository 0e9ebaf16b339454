"""The App Home tab's content: open chats and how the bridge is doing."""

import time
from typing import Any

from bot.events import ChatraClient
from bot.slack_views import home_view, thread_link
from storage import Inbox, Messages, OnCall, Threads


class Home:
    def __init__(self, threads: Threads, messages: Messages, inbox: Inbox, on_call: OnCall) -> None:
        self._threads = threads
        self._messages = messages
        self._inbox = inbox
        self._on_call = on_call

    def view(self) -> dict[str, Any]:
        now = time.time()
        chats = [
            (
                ChatraClient.model_validate_json(t.client).display_name(),
                thread_link(t.channel, t.thread_ts),
                (now - t.updated_at) / 60,
            )
            for t in self._threads.open_ones()
        ]
        held = len(self._messages.held())
        pending, failed = self._inbox.count("pending"), self._inbox.count("failed")
        health = [
            f":red_circle: Chatra disconnected in Membrane: {held} replies held"
            if held
            else ":large_green_circle: Chatra reachable through Membrane",
            f"Events waiting: {pending} · failed: {failed}",
        ]
        people = self._on_call.people()
        health.insert(0, "On call: " + (", ".join(f"<@{u}>" for u in people) or "no one"))
        last = self._inbox.last_error()
        if last:
            health.append(f"Last error: {last}")
        return home_view(chats, health)
