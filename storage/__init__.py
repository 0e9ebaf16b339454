"""Storage, SQLite (through sqlite-utils) or PostgreSQL (through psycopg): the schema and one
small repository per table group."""

from storage.agents import Agents
from storage.database import Database, DatabaseError, DatabaseUnavailable
from storage.figures import ChatFigures, Figures
from storage.inbox import FailedEvent, Inbox, InboxEvent
from storage.lanes import Claimed, Lanes
from storage.messages import Message, Messages
from storage.on_call import OnCall
from storage.on_duty import OnDuty, OnlineAgent
from storage.opening import open_database
from storage.outages import Outages, PastOutage
from storage.pacing import Pacing
from storage.seen import Seen
from storage.slack_posts import SlackPost, SlackPosts
from storage.states import ChatStatus, EventState, MessageState
from storage.store import Store
from storage.threads import Thread, Threads
from storage.waits import Wait, Waits

__all__ = [
    "Agents",
    "ChatFigures",
    "ChatStatus",
    "Claimed",
    "Database",
    "DatabaseError",
    "DatabaseUnavailable",
    "EventState",
    "FailedEvent",
    "Figures",
    "Inbox",
    "InboxEvent",
    "Lanes",
    "Message",
    "MessageState",
    "Messages",
    "OnCall",
    "OnDuty",
    "OnlineAgent",
    "Outages",
    "Pacing",
    "PastOutage",
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
