"""SQLite storage through sqlite-utils: schema and one small repository per table group."""

from storage.agents import Agents
from storage.database import open_database
from storage.inbox import FailedEvent, Inbox, InboxEvent
from storage.messages import Message, Messages
from storage.on_call import OnCall
from storage.seen import Seen
from storage.slack_posts import SlackPost, SlackPosts
from storage.states import EventState, MessageState
from storage.store import Store
from storage.threads import Thread, Threads
from storage.waits import Wait, Waits

__all__ = [
    "Agents",
    "EventState",
    "FailedEvent",
    "Inbox",
    "InboxEvent",
    "Message",
    "MessageState",
    "Messages",
    "OnCall",
    "Seen",
    "SlackPost",
    "SlackPosts",
    "Store",
    "Thread",
    "Threads",
    "Wait",
    "Waits",
    "open_database",
]
