"""The states a stored event and a carried message go through: one home for the words the
database holds (StrEnum: each is its own string in SQL and JSON)."""

from enum import StrEnum


class EventState(StrEnum):
    PENDING = "pending"  # stored, acknowledged, not yet carried out
    DONE = "done"
    FAILED = "failed"  # can never succeed as it is: listed by `db failed`, replayable


class ChatStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # Chatra ended it (its transcript came); new messages open it again
    DONE = "done"  # the team marked it done from Slack; the visitor writing opens it again


class MessageState(StrEnum):
    PENDING = "pending"  # recorded, not yet carried (either way)
    POSTED = "posted"  # a Chatra message, posted into its Slack thread
    SENDING = "sending"  # a reply handed to Chatra: in doubt until Chatra answers or echoes
    SENT = "sent"
    HELD = "held"  # while Chatra is disconnected in Membrane
    ASKING = "asking"  # a reply that mentions teammates: its author decides whether it goes
    FAILED = "failed"  # refused, or unconfirmed twice: shown with a Try again button
    NOTE = "note"  # an internal note: stays in Slack
    SKIPPED = "skipped"  # nothing to send
    DELETED = "deleted"
    ECHOED = "echoed"  # Chatra's echo of a message we sent, kept until its reply claims it
