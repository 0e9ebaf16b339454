"""Every repository over one database, as one object for the core."""

import time
from collections.abc import Callable
from dataclasses import dataclass

from storage.agents import Agents
from storage.database import Database
from storage.facts import Facts
from storage.figures import Figures
from storage.files import Files
from storage.inbox import Inbox
from storage.lanes import Lanes
from storage.messages import Messages
from storage.on_call import OnCall
from storage.on_duty import OnDuty
from storage.outages import Outages
from storage.outbox import Outbox
from storage.pacing import Pacing
from storage.saved_replies import SavedReplies
from storage.seen import Seen
from storage.slack_posts import SlackPosts
from storage.threads import Threads
from storage.waits import Waits


@dataclass(frozen=True)
class Store:
    db: Database
    inbox: Inbox
    lanes: Lanes
    threads: Threads
    messages: Messages
    posts: SlackPosts
    agents: Agents
    waits: Waits
    on_call: OnCall
    seen: Seen
    outages: Outages
    pacing: Pacing
    files: Files
    facts: Facts
    figures: Figures
    saved: SavedReplies
    outbox: Outbox
    on_duty: OnDuty

    @classmethod
    def over(cls, db: Database, clock: Callable[[], float] = time.time) -> "Store":
        """Every repository over `db`, stamping times by `clock`."""
        return cls(db, *(repository(db, clock) for repository in REPOSITORIES))


REPOSITORIES = (
    Inbox,
    Lanes,
    Threads,
    Messages,
    SlackPosts,
    Agents,
    Waits,
    OnCall,
    Seen,
    Outages,
    Pacing,
    Files,
    Facts,
    Figures,
    SavedReplies,
    Outbox,
    OnDuty,
)
