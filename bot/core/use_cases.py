"""The core's front door: what the handlers call, and nothing the app runs in the background."""

from dataclasses import dataclass

from bot.core.chats.cards import Cards
from bot.core.intake import Intake
from bot.core.people.access import Access
from bot.core.people.home import Home
from bot.core.people.online import Online
from bot.core.people.team import Team
from bot.core.people.visitor_tools import VisitorTools
from bot.core.replies.sending import SlackToChatra
from bot.core.stats.team_stats import Stats
from storage import Seen


@dataclass(frozen=True)
class UseCases:
    intake: Intake  # what Chatra and Slack send, stored before it is acknowledged
    cards: Cards  # the card's buttons: claim, discuss internally; visitor edited
    replies: SlackToChatra  # a failed reply's Try again (`replies.held`)
    access: Access  # who may act on visitors
    visitors: VisitorTools  # lookups, edits, pushed messages, open chats
    team: Team  # on call, agent links
    online: Online  # who Chatra shows online: /chatra online, away, who; the leader's pings
    home: Home  # the App Home tab
    stats: Stats  # how fast the team answers: /chatra stats, the digest, the chart
    seen: Seen  # Slack requests already carried out: a replay is dropped
    channel: str  # the support channel, where answers show when no other is known
