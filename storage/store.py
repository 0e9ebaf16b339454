"""Every repository over one database, as one object for the core."""

from dataclasses import dataclass

from sqlite_utils import Database

from storage.agents import Agents
from storage.inbox import Inbox
from storage.messages import Messages
from storage.on_call import OnCall
from storage.seen import Seen
from storage.slack_posts import SlackPosts
from storage.threads import Threads
from storage.waits import Waits


@dataclass(frozen=True)
class Store:
    db: Database
    inbox: Inbox
    threads: Threads
    messages: Messages
    posts: SlackPosts
    agents: Agents
    waits: Waits
    on_call: OnCall
    seen: Seen

    @classmethod
    def over(cls, db: Database) -> "Store":
        return cls(
            db,
            Inbox(db),
            Threads(db),
            Messages(db),
            SlackPosts(db),
            Agents(db),
            Waits(db),
            OnCall(db),
            Seen(db),
        )
