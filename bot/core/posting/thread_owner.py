"""Whose a Slack thread is: a chat's (its card tops it), one the team keeps to itself, under
another post of ours, or nobody's the bridge knows. One answer for intake, replies, edits and
deletes alike."""

from dataclasses import dataclass

from bot.core.posting import post_keys
from storage import Store, Thread


@dataclass(frozen=True)
class ThreadOwner:
    chat: Thread | None = None  # the chat whose card tops the thread
    internal: bool = False  # a thread the team keeps to itself
    ours: bool = False  # under a post the bridge made and recorded (a card, a notice)


def owner_now(store: Store, channel: str, thread_ts: str) -> ThreadOwner:
    """On the database's thread: whose the thread at (channel, thread_ts) is."""
    thread = store.threads.for_slack_thread.now(channel, thread_ts)
    if thread is not None:
        return ThreadOwner(thread, ours=True)
    key = store.posts.key_at.now(channel, thread_ts)
    return ThreadOwner(internal=post_keys.is_internal(key), ours=key is not None)
