"""What the use cases share, built once by `bot.running.wiring`: Slack, the posts owed to it,
the store, who is on call, the clock and the operator's policy."""

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.audit import Audit
from bot.core.ports import SlackPort
from bot.core.posting.outgoing import Outgoing
from bot.core.rules.policy import Policy
from bot.core.rules.roster import Roster
from storage import Store


@dataclass(frozen=True)
class Context:
    slack: SlackPort
    posts: Outgoing  # what is owed to Slack: made by each channel's poster
    store: Store
    on_call: Roster
    clock: Callable[[], float]
    policy: Policy
    audit: Audit
