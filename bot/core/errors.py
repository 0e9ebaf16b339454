"""Errors the core understands, free of any transport."""

from storage import DatabaseError, DatabaseUnavailable  # the database's: locked, gone, full

__all__ = [
    "ChannelRefused",
    "DatabaseError",
    "DatabaseUnavailable",
    "FileNotShared",
    "MembraneError",
    "NoWriter",
    "SlackRefused",
    "ThreadNotKnownYet",
]


class MembraneError(Exception):
    """An action did not run, or `in_doubt`: it may have run but we cannot know (a timeout, a
    dropped connection, a 5xx after the request arrived). `str()` is a sentence for a person."""

    def __init__(
        self,
        kind: str,
        detail: str,
        *,
        status: int | None = None,
        transient: bool,
        in_doubt: bool = False,
    ):
        self.kind = kind
        self.detail = detail
        self.status = status
        self.transient = transient
        self.in_doubt = in_doubt
        super().__init__(detail)


class NoWriter(Exception):
    """Nobody Chatra knows writes this reply: Chatra refuses a message from nobody. `str()`
    says what to set up; it never passes by itself."""

    transient = False


class SlackRefused(Exception):
    """Slack refused a call for good (a user or channel that is gone, a DM it will not open):
    trying again cannot help. `str()` is Slack's reason."""


class ChannelRefused(Exception):
    """Slack takes no posts in `channel` (gone, archived, or the bot is not in it): that
    channel's problem, which an admin mends, not Slack being down. `reason` is Slack's word."""

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"Slack refuses the bot's posts in {channel}: {reason}")
        self.channel, self.reason = channel, reason


class ThreadNotKnownYet(Exception):
    """A reply under a post of ours whose chat is not recorded yet (its card was just posted,
    the database is slow): waited for, never dropped."""


class FileNotShared(Exception):
    """Why a file cannot reach the visitor, as a sentence."""
