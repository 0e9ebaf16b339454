"""An edit or a delete of a reply in Slack reaches the visitor's copy in Chatra: each message
the reply became takes its new text (a longer text sends more, a shorter one deletes those left
over); a reply held is changed before it is sent. An edit keeps the files the reply shared, and
one that names a teammate the reply did not waits for its author's word. A deleted reply that
was not sent (held, asking, failed) never will be."""

from bot.core.context import Context
from bot.core.engine.lanes import Lease
from bot.core.errors import MembraneError, NoWriter
from bot.core.ports import ChatraPort, FilePort
from bot.core.posting import post_keys
from bot.core.replies.life import NOT_IN_CHATRA, ReplyLife
from bot.core.replies.parts import ReplyParts
from bot.core.replies.reply_text import plain_text, with_files_of
from bot.core.replies.saved import wanted
from bot.core.wire.slack import SlackDeletion, SlackEdit
from bot.core.wire.text import CHATRA_TEXT_LIMIT, split_text
from storage import Message, Thread
from storage.states import MessageState


class ReplyChanges:
    def __init__(
        self,
        context: Context,
        chatra: ChatraPort,
        files: FilePort,
        life: ReplyLife,
        parts: ReplyParts,
    ) -> None:
        self._saved, self._mentions = parts.saved, parts.mentions
        self._slack, self._messages = context.slack, context.store.messages
        self._chatra, self._files, self._life = chatra, files, life
        self._chat_thread, self._writers = parts.chat_thread, parts.writers

    async def edited(self, edit: SlackEdit, lease: Lease | None = None) -> None:
        thread = await self._chat_thread.of(edit, lease)
        record = await self._messages.by_slack_ts(edit.ts)
        if thread is None or record is None or record.state in NOT_IN_CHATRA:
            return
        written = with_files_of(edit.text, record.text or "")
        if record.state == MessageState.ASKING:  # its author has not decided: it goes as edited
            await self._messages.update(record.id, text=written)
            return
        expanded = await self._expanded(written, thread, edit.user)
        before = await self._expanded(record.text or "", thread, edit.user)
        if self._mentions.edit_wants_asking(edit, expanded, before):
            await self._mentions.ask_about_edit(thread, record, edit)
            return
        text = await plain_text(self._slack, expanded)
        if record.state == MessageState.HELD:  # not sent yet: it will be sent as edited
            await self._messages.update(record.id, text=written, sent_text=text)
            return
        key = post_keys.edit_warning(edit.ts, edit.text)
        if record.chatra_id is None:
            reason = "The original message never reached Chatra."
            await self._chat_thread.warn(thread, key, "Your edit", text, reason)
            return
        try:
            await self._edit_pieces(thread, edit, split_text(text, CHATRA_TEXT_LIMIT))
        except (MembraneError, NoWriter) as error:
            if error.transient:
                raise  # waited out by the worker: an edit is safe to repeat
            await self._chat_thread.warn(thread, key, "Your edit", text, str(error))
            return
        await self._messages.update(record.id, text=written)

    async def _expanded(self, written: str, thread: Thread, author: str) -> str:
        """A reply's text, a saved reply's (`;name`) filled in; the name as written when there
        is no such saved reply."""
        asked = wanted(written)
        expanded = await self._saved.expand(asked, thread, author) if asked else None
        return expanded or written

    async def _edit_pieces(self, thread: Thread, edit: SlackEdit, texts: list[str]) -> None:
        """Each message the reply became in Chatra takes its new text; a longer text sends more
        messages, a shorter one deletes those left over."""
        pieces = await self._messages.pieces(edit.ts)
        for n, text in enumerate(texts):
            piece = pieces[n] if n < len(pieces) else None
            if piece is not None and piece.chatra_id and piece.state != MessageState.DELETED:
                if piece.sent_text != text:
                    await self._chatra.edit_agent_message(piece.chatra_id, text)
                    await self._messages.update(piece.id, sent_text=text)
                continue
            piece = await self._messages.claim_slack_reply(
                f"{edit.ts}#{n}", thread.client_id, text, edit.user
            )
            writer, _ = await self._writers.of(edit.user)
            chatra_id = await self._chatra.send_agent_message(thread.client_id, text, writer)
            await self._life.sent_as_edited(piece.id, chatra_id, text)
        for piece in pieces[len(texts) :]:
            await self._delete_piece(piece)

    async def deleted(self, deletion: SlackDeletion, lease: Lease | None = None) -> None:
        thread = await self._chat_thread.of(deletion, lease)
        record = await self._messages.by_slack_ts(deletion.ts)
        if thread is None or record is None or record.state == MessageState.DELETED:
            return
        await self._files.forget(record.text or "")  # the files it shared go with it
        try:
            for piece in await self._messages.pieces(deletion.ts):
                await self._delete_piece(piece)
        except MembraneError as error:
            if error.transient:
                raise  # waited out by the worker
            key = post_keys.delete_warning(deletion.ts)
            await self._chat_thread.warn(
                thread, key, "Deleting your message", record.text or "", str(error)
            )

    async def _delete_piece(self, piece: Message) -> None:
        """Gone from the visitor's chat; one not sent (held, asking, failed) never will be. One
        whose send is in doubt is left to Chatra's echo."""
        in_doubt = piece.state == MessageState.SENDING and piece.chatra_id is None
        if piece.state == MessageState.DELETED or in_doubt:
            return
        if piece.chatra_id is not None:
            try:
                await self._chatra.delete_agent_message(piece.chatra_id)
            except MembraneError as error:
                if not (error.kind == "dependency_error" and error.status == 404):
                    raise  # not "already gone" (a try that ended in doubt deleted it)
        await self._life.deleted(piece.id)
