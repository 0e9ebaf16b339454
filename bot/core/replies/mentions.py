"""Nothing meant for a teammate reaches the visitor: a thread reply that mentions a person, a
user group, @here or @channel waits for its author to say *Send to visitor* or *Keep as a note*
(asked of them alone); no answer in 10 minutes keeps it as a note."""

import re

from bot.core.context import Context
from bot.core.ports import ReplyState
from bot.core.replies.held import HeldReplies
from bot.core.slack_ui.notices import mention_question
from bot.core.wire.slack import SlackReply
from bot.core.wire.text import NOTIFIES, plain_to_slack
from storage import Message, Thread
from storage.states import MessageState

ASK_FOR = 600.0  # seconds an author has to decide; then the reply stays a note
CONFIRMED = "confirmed:"  # a reply's new try, sent because its author said so


def mentions_in(text: str) -> list[re.Match[str]]:
    return list(NOTIFIES.finditer(text))


class MentionCheck:
    def __init__(self, context: Context, held: HeldReplies) -> None:
        self._slack, self._held = context.slack, held
        self._messages, self._threads = context.store.messages, context.store.threads
        self._clock, self._audit = context.clock, context.audit
        self.enabled = context.policy.ask_before_mentions

    def wants_asking(self, reply: SlackReply) -> bool:
        """A reply written with mentions, when the team wants to be asked (a new try of one is
        not: its author decided already, or it was asked before it failed)."""
        return self.enabled and reply.retry_of is None and bool(mentions_in(reply.text))

    async def ask(self, thread: Thread, record: Message, reply: SlackReply) -> None:
        """Ask the author, then hold the reply until they answer: a reply asked about again
        (its event carried out twice) asks twice rather than never."""
        named = [await self._named(found) for found in mentions_in(reply.text)]
        question = mention_question(list(dict.fromkeys(named)), reply.ts)
        await self._slack.tell(thread.channel, reply.user, question, thread.thread_ts)
        await self._messages.update(record.id, state=MessageState.ASKING)

    async def decide(self, reply_ts: str, send: bool, by: str, click_id: str) -> str:
        """The author's answer, as the question then says it."""
        record = await self._messages.by_slack_ts(reply_ts)
        if record is None or record.state != MessageState.ASKING:
            return "Already decided: nothing changed."
        if by != record.author:
            return "Only the reply's author can decide."
        if send:
            await self._held.requeue(record, CONFIRMED + click_id, state=MessageState.PENDING)
            self._audit.record(by, "mentions_sent", what=reply_ts)
            return ":outbox_tray: Sent to the visitor, mentions as names."
        await self._keep_as_note(record)
        return ":lock: Kept as a note: the visitor does not see it."

    async def expire(self) -> None:
        """Replies nobody decided about within 10 minutes stay in Slack as notes."""
        for record in await self._messages.asking_since_before(self._clock() - ASK_FOR):
            await self._keep_as_note(record)

    async def _keep_as_note(self, record: Message) -> None:
        await self._messages.update(record.id, state=MessageState.NOTE)
        thread = await self._threads.for_client(record.client_id)
        if thread is not None and record.slack_ts:
            await self._slack.show_state(thread.channel, record.slack_ts, ReplyState.NOTE, None)

    async def _named(self, found: re.Match[str]) -> str:
        """Who a mention notifies, as the question names them (escaped: it is shown in Slack)."""
        if found["person"]:
            name = await self._slack.user_name(found["person"]) or found["person"]
        elif found["group"]:
            name = (found["handle"] or "a user group").lstrip("@")
        else:
            name = found["everyone"]
        return "@" + plain_to_slack(name)
