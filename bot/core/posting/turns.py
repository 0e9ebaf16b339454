"""What a channel's poster keeps of its threads' turns, in memory: only what makes turns fair
(the thread that waited longest goes next), lets a failing thread wait alone, keeping its place,
and lets more be appended to a thread's last post. Lost with the poster, none of it is needed
for what is on Slack to be right: that is on disk."""

import time
from dataclasses import dataclass, field

from bot.core.engine.backoff import WORK
from bot.core.posting.batches import Piece, Post

APPEND_WITHIN = 60.0  # seconds a post stays open to appending: later, it has scrolled away


@dataclass
class LastPost:
    """A thread's last post, while more of its Chatra messages may be appended to it: a post
    in the thread, or the chat's card (what it opens with grows)."""

    ts: str
    shown: list[Piece]
    at: float = field(default_factory=time.monotonic)
    card: bool = False

    def open(self) -> bool:
        return time.monotonic() - self.at <= APPEND_WITHIN


class Turns:
    def __init__(self) -> None:
        self.doubt: set[str] = set()  # turns whose posts may be on Slack already
        self.last: dict[str, LastPost] = {}  # turn -> its last post, open to appending
        self._first_seen: dict[str, float] = {}  # turn -> when it was first seen waiting
        self._last_slot: dict[str, float] = {}  # turn -> when it last had a slot
        self._held: dict[str, float] = {}  # turn -> when to try again after a failure
        self._failures: dict[str, int] = {}

    def keep_only(self, turns: set[str]) -> None:
        """What is kept of each turn, for the turns that wait now only."""
        now = time.monotonic()
        self._first_seen = {turn: self._first_seen.get(turn, now) for turn in turns}
        for kept in (self._last_slot, self._held, self._failures):
            for turn in set(kept) - turns:
                del kept[turn]
        self.doubt &= turns
        self.last = {turn: last for turn, last in self.last.items() if last.open()}

    def ready(self, posts: list[Post]) -> list[Post]:
        """The posts whose turns wait out no failure."""
        now = time.monotonic()
        return [post for post in posts if self._held.get(post.turn, 0) <= now]

    def next_ready_in(self, longest: float) -> float:
        """Seconds until a held turn may go again (`longest` at most when none is held)."""
        now = time.monotonic()
        return min(self._held.values(), default=now + longest) - now

    def longest_waiting(self, ready: list[Post]) -> Post:
        """Whose turn it is: waiting since it came, or since its last slot if later."""
        return min(
            ready,
            key=lambda post: max(self._first_seen[post.turn], self._last_slot.get(post.turn, 0.0)),
        )

    def slot(self, turn: str) -> None:
        self._last_slot[turn] = time.monotonic()

    def succeeded(self, turn: str) -> None:
        self._failures.pop(turn, None)
        self._held.pop(turn, None)

    def failed(self, turn: str) -> float:
        """A try of the turn failed: the seconds it waits, alone, before the next."""
        failures = self._failures[turn] = self._failures.get(turn, 0) + 1
        delay = WORK.delay(failures)
        self._held[turn] = time.monotonic() + delay
        return delay
