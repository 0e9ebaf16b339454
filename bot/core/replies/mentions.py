"""Nothing meant for a teammate reaches the visitor: a reply (or an edit of one) whose text, as it
would reach the visitor, mentions a person other than its author, a user group, @here or
@channel waits for its author to say *Send to visitor* or *Keep as a note* (asked of them alone);
no answer in 10 minutes keeps it in Slack. Meanwhile the visitor's copy keeps its old text."""

import re

from bot.core.context import Context
from bot.core.ports import ReplyState
from bot.core.replies.held import HeldReplies
from bot.core.replies.life import ReplyLife
from bot.core.replies.reply_text import plain_text
from bot.core.slack_ui.notices import mention_question
from bot.core.wire.slack import Retry, RetryReason, SlackEdit, SlackReply
from bot.core.wire.text import NOTIFIES, plain_to_slack
from storage import Message, Thread
from storage.states import MessageState

ASK_FOR = 600.0  # seconds an author has to decide; then the reply stays a note


class MentionCheck:
    def __init__(self, context: Context, life: ReplyLife, held: HeldReplies) -> None:
        self._slack, self._held, self._life = context.slack, held, life
        self._messages, self._threads = context.store.messages, context.store.threads
        self._clock, self._audit = context.clock, context.audit
        self.enabled = context.policy.ask_before_mentions

    def named(self, text: str, author: str) -> list[re.Match[str]]:
        """Whom `text` (mrkdwn, as it will be sent) notifies besides its author and the bot: a
        slip toward a teammate is what the question is for."""
        itself = {author, self._slack.bot_user_id}
        return [found for found in NOTIFIES.finditer(text) if found["person"] not in itself]

    def wants_asking(self, reply: SlackReply, text: str) -> bool:
        """A reply whose text names teammates, when the team wants to be asked (a new try of
        one is not: its author decided already, or it was asked before it failed)."""
        return self.enabled and reply.retry is None and bool(self.named(text, reply.user))

    def edit_wants_asking(self, edit: SlackEdit, text: str, before: str) -> bool:
        """An edit that names someone its reply (`before`) did not, unless its author said so."""
        if not self.enabled or edit.confirmed:
            return False
        earlier = {_whom(found) for found in self.named(before, edit.user)}
        return any(_whom(found) not in earlier for found in self.named(text, edit.user))

    async def ask(self, thread: Thread, reply: SlackReply, text: str) -> None:
        """Ask the author (the reply is then held, `asking`, until they answer): a reply asked
        about again (its event carried out twice) asks twice rather than never."""
        await self._ask(thread, reply.user, reply.ts, text, edited=False)

    async def ask_about_edit(self, thread: Thread, record: Message, edit: SlackEdit) -> None:
        """The edit waits (the visitor keeps the earlier text) until its author answers."""
        await self._messages.ask_edit(record.id, edit.text)
        await self._ask(thread, edit.user, edit.ts, edit.text, edited=True)

    async def _ask(self, thread: Thread, author: str, ts: str, text: str, *, edited: bool) -> None:
        named = [await self._name(found) for found in self.named(text, author)]
        quoted = await plain_text(self._slack, text)
        question = mention_question(list(dict.fromkeys(named)), ts, quoted, edited=edited)
        await self._slack.tell(thread.channel, author, question, thread.thread_ts)

    async def decide(self, reply_ts: str, send: bool, by: str, click_id: str) -> str:
        """The author's answer, as the question then says it."""
        record = await self._messages.by_slack_ts(reply_ts)
        if record is not None and record.state == MessageState.DELETED:
            return ":wastebasket: The reply was deleted in Slack: nothing was sent to the visitor."
        if record is None or (record.state != MessageState.ASKING and not record.edit_asked):
            return "Already decided: nothing changed."
        if by != record.author:
            return "Only the reply's author can decide."
        if record.state != MessageState.ASKING:
            return await self._decide_edit(record, send, click_id)
        if send:
            await self._held.requeue(record, Retry(reason=RetryReason.CONFIRMED, id=click_id))
            self._audit.record(by, "mentions_sent", what=reply_ts)
            return ":outbox_tray: Sent to the visitor, mentions as names."
        await self._keep_as_note(record)
        return ":lock: Kept as a note: the visitor does not see it."

    async def _decide_edit(self, record: Message, send: bool, click_id: str) -> str:
        text = await self._messages.take_edit(record.id)
        if text is None:  # a click on the question's other button came first
            return "Already decided: nothing changed."
        if not send:
            return ":lock: The edit stays in Slack: the visitor keeps the earlier text."
        await self._held.requeue_edit(record, text, click_id)
        self._audit.record(record.author or "", "mentions_sent", what=record.slack_ts)
        return ":outbox_tray: The visitor's copy is edited, mentions as names."

    async def expire(self) -> None:
        """Replies nobody decided about within 10 minutes stay in Slack as notes; edits, in
        Slack alone."""
        for record in await self._messages.asking_since_before(self._clock() - ASK_FOR):
            if record.state == MessageState.ASKING:
                await self._keep_as_note(record)
            else:  # an edit: the visitor keeps the earlier text
                await self._messages.take_edit(record.id)

    async def _keep_as_note(self, record: Message) -> None:
        await self._life.kept_as_note(record.id)
        thread = await self._threads.for_client(record.client_id)
        if thread is not None and record.slack_ts:
            await self._slack.show_state(thread.channel, record.slack_ts, ReplyState.NOTE, None)

    async def _name(self, found: re.Match[str]) -> str:
        """Who a mention notifies, as the question names them (escaped: it is shown in Slack)."""
        if found["person"]:
            name = await self._slack.user_name(found["person"]) or found["person"]
        elif found["group"]:
            name = (found["handle"] or "a user group").lstrip("@")
        else:
            name = found["everyone"]
        return "@" + plain_to_slack(name)


def _whom(found: re.Match[str]) -> str:
    """A mention's person, user group or everyone, however it is written."""
    return found["person"] or found["group"] or found["everyone"]
