"""What a chat's visitor card shows besides the visitor: kept with its thread, so every redraw
shows it again."""

from pydantic import BaseModel


class CardState(BaseModel):
    previous: str | None = None  # a link to the visitor's earlier thread
    on_call: list[str] | None = None  # who was on call when the chat started
    after_hours: str | None = None  # the line a chat started outside business hours shows
    owner: str | None = None  # who took the chat
    queue: str | None = None  # the CHANNEL_ROUTES queue it came from
    moved: str | None = None  # why it is not in its queue's channel (that channel refused it)

    @classmethod
    def of(cls, stored: str) -> "CardState":
        return cls.model_validate_json(stored or "{}")
