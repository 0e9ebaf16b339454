"""What a poster records when Slack refuses a post for good: a queue's channel that refuses the
bot sends its chat's card to the support channel; anything else is marked never to be shown."""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict

from bot.core.chats.chat import CardState
from bot.core.errors import ChannelRefused
from bot.core.posting import post_keys
from bot.core.posting.batches import Post
from bot.core.slack_ui.notices import channel_refused_notice
from storage import Store, Thread

log = logging.getLogger(__name__)


async def move_card(
    store: Store, chat: Thread, refused: ChannelRefused, support: str, clock: Callable[[], float]
) -> None:
    """A queue's channel refuses the bot: the chat's card goes to the `support` channel, saying
    why; the support channel is told once a day."""
    channel = chat.channel
    why = f"<#{channel}> refuses the bot's posts ({refused.reason})"
    day = time.strftime("%Y-%m-%d", time.gmtime(clock()))
    notice = channel_refused_notice(channel, refused.reason, CardState.of(chat.card).queue or "")
    key = post_keys.channel_refused(channel, day)

    def move() -> None:
        now = store.threads.by_id.now(chat.id, to_change=True) or chat
        card = CardState.of(now.card).model_copy(update={"moved": why})
        store.threads.move.now(chat.id, support, card.model_dump_json())
        store.outbox.post.now(key, support, json.dumps(asdict(notice)))

    await store.db.run("Poster.move", move, "write")


async def never_shown(store: Store, channel: str, post: Post, why: str) -> None:
    """Slack refuses the post for good: what it shows is marked so, never tried again."""
    log.error("Slack refused a post to %s for good: %s", channel, why)

    def refuse() -> None:
        for piece in post.pieces:
            store.messages.not_shown.now(piece.due.id, why)
        if post.notice is not None:
            store.outbox.made.now(post.notice.key, channel, "", post.thread_ts)

    await store.db.run("Poster.refused", refuse, "write")
