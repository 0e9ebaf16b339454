"""Saved replies: `/chatra saved add <name> <text>` keeps a text the team sends often; `;name`
(then, optionally, more words) as a thread reply sends it, `{visitor}` (the visitor's first
name) and `{agent}` (the author's name) filled in."""

import re
from dataclasses import dataclass

from bot.core.chats.chat import Chat
from bot.core.context import Context
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.wire.text import plain_to_slack
from storage import Thread

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_SAVED = re.compile(r";(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,39})(?:\s+(?P<more>.*))?", re.S)
USAGE = "`/chatra saved add <name> <text>` · `/chatra saved` · `/chatra saved remove <name>`"


@dataclass(frozen=True)
class Wanted:
    """A reply that asks for a saved text: its name, and what the author wrote after it."""

    name: str
    more: str


def wanted(text: str) -> Wanted | None:
    found = _SAVED.fullmatch(text.strip())
    return Wanted(found["name"].lower(), (found["more"] or "").strip()) if found else None


class SavedTexts:
    def __init__(self, context: Context) -> None:
        self._saved, self._slack, self._audit = context.store.saved, context.slack, context.audit

    async def command(self, args: str, user: str) -> SlackMessage:
        """`/chatra saved [add <name> <text> | remove <name>]`, answered to `user` alone."""
        action, _, rest = args.strip().partition(" ")
        name, _, text = rest.strip().partition(" ")
        name = name.lower().lstrip(";")
        if action == "add" and NAME.fullmatch(name) and text.strip():
            new = await self._saved.save(name, text.strip(), user)
            self._audit.record(user, "saved_reply_added", what=name)
            return SlackMessage(f"{'Saved' if new else 'Replaced'} `;{name}`.")
        if action == "remove" and name:
            gone = await self._saved.remove(name)
            self._audit.record(user, "saved_reply_removed", what=name)
            return SlackMessage(f"Removed `;{name}`." if gone else f"No saved reply `;{name}`.")
        if action:
            return SlackMessage(f"Usage: {USAGE}")
        saved = await self._saved.all()
        if not saved:
            return SlackMessage(f"No saved replies yet. {USAGE}")
        lines = [f"`;{reply.name}` {reply.text}" for reply in saved]
        return SlackMessage(
            "*Saved replies* (`;name` in a chat's thread sends one)\n" + "\n".join(lines)
        )

    async def expand(self, asked: Wanted, thread: Thread, author: str) -> str | None:
        """The text a `;name` reply sends (Slack mrkdwn, as if written); None: no such name."""
        saved = await self._saved.get(asked.name)
        if saved is None:
            return None
        visitor = (Chat.of(thread).visitor.name or "").split()
        agent = (await self._slack.user_name(author) or "").split()
        # Names go in as the plain text they are: a visitor called "<@U0KIM>" is greeted so.
        text = saved.text.replace("{visitor}", plain_to_slack(visitor[0]) if visitor else "there")
        text = text.replace("{agent}", plain_to_slack(agent[0]) if agent else "")
        return f"{text} {asked.more}".strip()
