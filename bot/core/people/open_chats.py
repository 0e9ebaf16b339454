"""Open chats as a support person wants them listed: who, how long they have waited, who has it."""

from dataclasses import dataclass

from bot.core.chats.chat import Chat
from bot.core.slack_ui.views import thread_link
from bot.core.wire.text import slack_link
from storage import Threads, Waits


@dataclass(frozen=True)
class OpenChat:
    name: str
    link: str  # to the chat's Slack thread
    waiting: float | None  # minutes since the visitor's unanswered message; None when answered
    owner: str | None  # the Slack user who took the chat


async def open_chats(
    threads: Threads, waits: Waits, now: float, workspace: str, limit: int = 50
) -> list[OpenChat]:
    """Open chats, the newest activity first; `workspace` is the base of their links."""
    chats = []
    for thread in await threads.open_ones(limit):
        since, chat = await waits.since(thread.id), Chat.of(thread)
        chats.append(
            OpenChat(
                name=chat.name,
                link=thread_link(thread.channel, thread.thread_ts, workspace),
                waiting=(now - since) / 60 if since is not None else None,
                owner=chat.card.owner,
            )
        )
    return chats


def describe(chat: OpenChat) -> str:
    """One mrkdwn line: `<link|name> · waiting 4 min · taken by @sam`."""
    waiting = f"waiting {chat.waiting:.0f} min" if chat.waiting is not None else "answered"
    taken = f"taken by <@{chat.owner}>" if chat.owner else "nobody has it"
    return f"{slack_link(chat.link, chat.name)} · {waiting} · {taken}"
