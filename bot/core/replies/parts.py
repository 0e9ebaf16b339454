"""What a reply's journey is made of, built once by the wiring and shared by its steps."""

from dataclasses import dataclass

from bot.core.replies.chat_thread import ChatThread
from bot.core.replies.going import Endings
from bot.core.replies.held import HeldReplies
from bot.core.replies.mentions import MentionCheck
from bot.core.replies.saved import SavedTexts
from bot.core.replies.to_visitor import ToVisitor
from bot.core.replies.writers import Writers


@dataclass(frozen=True)
class ReplyParts:
    chat_thread: ChatThread  # the chat a reply belongs to, and warnings in its thread
    writers: Writers  # which Chatra agent a person writes as
    held: HeldReplies  # while Chatra is away, and tried again
    mentions: MentionCheck  # asks before a reply naming teammates
    saved: SavedTexts  # `;name` sends a saved reply
    endings: Endings  # a reply's end: a note, skipped, held, failed
    to_visitor: ToVisitor  # the sending itself
