"""The core's front door: every capability the handlers call, flat and named, and what they
need to check a form or draw a modal. Nothing of storage, of the runtime or of the outside
clients comes through it: the wiring builds what stands behind each capability."""

from dataclasses import dataclass
from typing import Protocol

from bot.core.engine.patience import patiently
from bot.core.errors import DatabaseError, DatabaseUnavailable, ThreadNotKnownYet
from bot.core.intake import Intake
from bot.core.mirroring.cards import Cards
from bot.core.people.access import Access
from bot.core.people.home import Home
from bot.core.people.online import Online
from bot.core.people.team import Team
from bot.core.people.visitor_tools import VisitorTools, pushed_text_errors, visitor_form_errors
from bot.core.replies.held import HeldReplies
from bot.core.replies.mentions import MentionCheck
from bot.core.replies.saved import SavedTexts
from bot.core.slack_ui.views import modal, push_modal
from bot.core.stats.team_stats import Stats

__all__ = [
    "DatabaseError",
    "DatabaseUnavailable",
    "FrontDoor",
    "Intake",
    "Seen",
    "ThreadNotKnownYet",
    "modal",
    "patiently",
    "push_modal",
    "pushed_text_errors",
    "visitor_form_errors",
]


class Seen(Protocol):
    async def first_time(self, key: str) -> bool:
        """Whether a request with this key comes for the first time (here or at another
        bridge): a replay is dropped."""
        ...


@dataclass(frozen=True)
class FrontDoor:
    intake: Intake  # what Chatra and Slack send, stored before it is acknowledged
    seen: Seen  # slash commands and clicks already carried out: a replay is dropped
    access: Access  # who may act on visitors
    cards: Cards  # the card's buttons: claim, done, reopen, discuss internally; visitor edited
    held: HeldReplies  # a failed reply's Try again
    mentions: MentionCheck  # the mention question: Send to visitor or Keep as a note
    saved: SavedTexts  # /chatra saved
    visitors: VisitorTools  # lookups, edits, pushed messages, open chats
    team: Team  # on call, agent links
    online: Online  # who Chatra shows online: /chatra online, away, who
    home: Home  # the App Home tab
    stats: Stats  # how fast the team answers: /chatra stats
    channel: str  # the support channel, where answers show when no other is known
