"""Which lane an event is carried out in (one per chat and direction), and a unit of work's
hold on its lane: renewed with each write, or found taken over by another bridge."""

from dataclasses import dataclass

from storage import Lanes

REPLIES = ":replies"  # a chat's lane for what is written in Slack, beside its Chatra events
INTERNAL = "internal:"  # the lane of a thread the team keeps to itself


def lane(client_id: str, source: str) -> str:
    """The lane an event of a chat is carried out in: one per direction."""
    return client_id if source == "chatra" else client_id + REPLIES


def client_of_lane(name: str) -> str:
    """The chat a lane is of (for an internal thread's lane: its name)."""
    return name.removesuffix(REPLIES)


def internal_lane(thread_ts: str) -> str:
    return INTERNAL + thread_ts


@dataclass(frozen=True)
class Lease:
    """A lane this bridge holds, as a unit of work checks it: `fence` (on the database's
    thread) renews it, or raises LeaseLost when another bridge took it over."""

    lanes: Lanes
    lane: str
    holder: str
    ttl: float

    def fence(self) -> None:
        if not self.lanes.fence.now(self.lane, self.holder, self.ttl):
            raise LeaseLost(self.lane)

    def check(self) -> None:
        """Without renewing it (a read): before an effect outside that no unit follows."""
        if self.lanes.left.now(self.lane, self.holder) is None:
            raise LeaseLost(self.lane)


class LeaseLost(Exception):
    """Another bridge carries out this lane's events now: this one stops, before its next
    effect outside and its next write."""
