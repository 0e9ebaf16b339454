"""How the bridge behaves, as the operator set it: built once from Settings
(`bot.running.wiring`), read by each use case. The defaults live in Settings alone."""

from dataclasses import dataclass, field

from bot.core.rules.routes import Routes
from bot.core.rules.schedule import BusinessHours, WeeklyTime


@dataclass(frozen=True)
class Policy:
    channel: str  # the support channel where chats are mirrored
    dashboard_url: str  # base of the "open in Chatra" links
    received_from: str  # the mark on every message the bridge sends to Chatra
    default_agent: str | None  # who writes for a Slack user with no Chatra agent
    note_prefixes: tuple[str, ...]  # a reply starting so stays in Slack
    echo_grace: float  # seconds to wait for Chatra's echo of a send in doubt
    idle_gap: float  # seconds after a closed chat before a visitor back gets a new thread
    nudge_after: float  # seconds a visitor waits before the thread is nudged
    escalate_after: float  # ... before the on-call people are messaged
    opening_hours: BusinessHours | None
    away_message: str | None  # what Chatra tells visitors outside business hours
    timezone: str  # for an on-call rotation set without one
    allowed_users: frozenset[str]  # who may act, when given; else the channel's members
    allowed_usergroup: str | None  # or the members of this user group (S...)
    routes: Routes = field(default_factory=Routes)  # chats that go to another channel
    digest_at: WeeklyTime | None = None  # when the weekly digest is posted; None: never
    ask_before_mentions: bool = True  # a reply naming teammates waits for its author's word
    rating_alert_at: int = 2  # a rating at or below it (1 to 5) is told to the team; 0: never

    @property
    def channels(self) -> list[str]:
        """Every channel chats are mirrored to: the support channel first."""
        return list(dict.fromkeys([self.channel, *self.routes.channels]))
