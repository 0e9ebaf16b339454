"""What a chat's visitor card shows besides the visitor: kept with its thread, so every redraw
shows it again."""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from bot.core.wire.chatra import ChatraClient
from storage import ChatStatus, Thread


class OpeningLine(BaseModel):
    """A message the card opens with, under its author and time, as a joined post shows it."""

    author: str  # as the thread shows it: "Jane", "Ana (Chatra)"
    at: float  # when it was written (seconds since the epoch)
    text: str  # mrkdwn: the whole message, or its beginning when `continued`
    images: list[dict[str, Any]] = Field(default_factory=list)  # image blocks, as a reply's
    continued: bool = False  # too long for the card: the whole text is the thread's first reply


class EarlierChats(BaseModel):
    """A returning visitor's chats before this one, as the bridge mirrored them."""

    count: int
    last_at: float  # when the last one was (its last Chatra event)
    # the newest threads (at most 3, newest first): a link to each and when it was
    threads: list[tuple[str, float]] = Field(default_factory=list)


class CardState(BaseModel):
    previous: str | None = None  # a link to the visitor's earlier thread (cards before v12)
    earlier: EarlierChats | None = None  # the visitor's earlier chats
    on_call: list[str] | None = None  # who was on call when the chat started
    after_hours: str | None = None  # the line a chat started outside business hours shows
    owner: str | None = None  # who took the chat
    queue: str | None = None  # the CHANNEL_ROUTES queue it came from
    moved: str | None = None  # why it is not in its queue's channel (that channel refused it)
    opening: list[OpeningLine] = Field(default_factory=list)  # what the visitor wrote first
    done_by: str | None = None  # who marked the chat done, from Slack
    done_at: float | None = None
    reopened: str | None = None  # why it is open again after it was done
    summary: str | None = None  # how the chat went, once Chatra closed it (its transcript)

    @classmethod
    def of(cls, stored: str) -> "CardState":
        return cls.model_validate_json(stored or "{}")

    def marked_done(self, by: str, at: float) -> "CardState":
        return self.model_copy(update={"done_by": by, "done_at": at, "reopened": None})

    def reopened_because(self, why: str) -> "CardState":
        return self.model_copy(update={"done_by": None, "done_at": None, "reopened": why})


@dataclass(frozen=True)
class Chat:
    """A mirrored chat as read from its thread, decoded once: where it is, its visitor as the
    card shows them, what the card keeps besides, and whether it is open."""

    thread: Thread
    visitor: ChatraClient
    card: CardState

    @classmethod
    def of(cls, thread: Thread) -> "Chat":
        return cls(
            thread, ChatraClient.model_validate_json(thread.client), CardState.of(thread.card)
        )

    @property
    def closed(self) -> bool:
        return self.thread.status == ChatStatus.CLOSED

    @property
    def done(self) -> bool:
        return self.thread.status == ChatStatus.DONE

    @property
    def name(self) -> str:
        return self.visitor.display_name()
