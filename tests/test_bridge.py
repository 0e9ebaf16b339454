"""The core on its own: no HTTP, no Bolt; Slack and Chatra are small in-memory stand-ins."""

import asyncio
import itertools
import time
from types import SimpleNamespace

import pytest

from bot.core.audit import Audit
from bot.core.context import Context
from bot.core.engine.arrivals import Arrivals
from bot.core.engine.health import Health
from bot.core.errors import FileNotShared, MembraneError
from bot.core.intake import Intake
from bot.core.mirroring.chat_to_slack import ChatToSlack
from bot.core.ports import Posted, Writer
from bot.core.posting.outgoing import Outgoing
from bot.core.posting.pace import Budget
from bot.core.posting.poster import Poster, Setup
from bot.core.rules.policy import Policy
from bot.core.rules.roster import Roster
from bot.core.slack_ui.blocks import SlackMessage
from bot.core.slack_ui.views import card_of
from bot.core.wire.chatra import ChatraWebhook, read_webhook
from bot.core.wire.slack import SharedFile, SlackDeletion, SlackEdit, SlackReply
from bot.running.wiring import slack_to_chatra
from storage import Store, open_database
from tests.helpers import chat_event, visitor_says


class MemorySlack:
    workspace_url = "https://acme.slack.com/"
    bot_user_id = "UBOT"

    def __init__(self) -> None:
        self.posts: list[tuple[str | None, str]] = []  # (thread_ts, text)
        self.updates: list[tuple[str, str]] = []
        self.states: dict[str, str] = {}  # reply ts -> the delivery state shown on it
        self._ts = itertools.count(1)

    async def post(
        self,
        channel: str,
        message: SlackMessage,
        thread_ts: str | None = None,
        keys: tuple[str, ...] = (),
    ) -> Posted:
        self.posts.append((thread_ts, message.text))
        return Posted(channel, f"1700000000.{next(self._ts):06d}")

    async def find_posted(
        self, channel: str, thread_ts: str | None, keys: list[str], since: float
    ) -> dict[str, str]:
        return {}

    async def update(
        self, channel: str, ts: str, message: SlackMessage, keys: tuple[str, ...] = ()
    ) -> None:
        self.updates.append((ts, message.text))

    async def show_state(self, channel: str, ts: str, state: str, previous: str | None) -> None:
        self.states[ts] = state

    async def user_name(self, user_id: str) -> str | None:
        return {"U1": "Sam"}.get(user_id)

    async def user_email(self, user_id: str) -> str | None:
        return {"U1": "sam@example.com"}.get(user_id)


class MemoryChatra:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.agents: list[Writer] = []  # who each message was sent as
        self.edited: list[tuple[str, str]] = []
        self.deleted: list[str] = []
        self.failure: MembraneError | None = None

    async def send_agent_message(self, client_id: str, text: str, writer: Writer) -> str:
        if self.failure:
            raise self.failure
        self.sent.append((client_id, text))
        self.agents.append(writer)
        return f"msg-{len(self.sent)}"

    async def edit_agent_message(self, message_id: str, text: str) -> None:
        self.edited.append((message_id, text))

    async def delete_agent_message(self, message_id: str) -> None:
        self.deleted.append(message_id)


class NoFiles:
    async def forget(self, text: str) -> None:
        pass

    async def publish(self, file: SharedFile) -> SharedFile:
        raise FileNotShared("Files are not set up here.")


POLICY = Policy(
    channel="C0SUPPORT1",
    dashboard_url="https://app.chatra.io",
    received_from="chatra-bridge",
    default_agent=None,
    note_prefixes=("//", "note:"),
    echo_grace=30.0,
    idle_gap=24 * 3600,
    nudge_after=3 * 60,
    escalate_after=10 * 60,
    opening_hours=None,
    away_message=None,
    timezone="UTC",
    allowed_users=frozenset(),
    allowed_usergroup=None,
    ask_before_mentions=False,  # the question off (tests/test_reply_safety.py asks)
)


class Everyone:
    """Access for these tests: everyone may act (tests/test_security.py tests who may not)."""

    async def refusal(self, user: str) -> str | None:
        return None


class Posts:
    """What the channel is owed, posted by its poster until it is owed nothing."""

    def __init__(self, store: Store, slack: MemorySlack) -> None:
        self._setup = Setup(
            store,
            slack,
            holder="bridge",
            lease=60,
            updates=Budget.of(50, 50, None),
            burst=50,
            per_second=50,
            support=POLICY.channel,
            card_for=lambda chat, opening: card_of(chat, POLICY.dashboard_url, opening),
            redraw=lambda chat: card_of(chat, POLICY.dashboard_url),
            judge=lambda error: None,
            waited=_nothing,
            idle=0.01,
        )

    async def made(self) -> None:
        await Poster(POLICY.channel, self._setup, lambda channel: None).run()


async def _nothing(key: str) -> None:
    pass


@pytest.fixture
async def parts():
    """The two directions over an in-memory database, Slack and Chatra as stand-ins."""
    store = Store.over(await asyncio.to_thread(open_database, ":memory:"))
    await store.agents.remember([{"id": "a1", "name": "Sam Agent", "email": "sam@example.com"}])
    slack, chatra = MemorySlack(), MemoryChatra()
    posts, roster = Posts(store, slack), Roster(store.on_call, time.time)
    context = Context(slack, Outgoing(store, lambda channel: None), store, roster, time.time,
                      POLICY, Audit())  # fmt: skip
    intake = Intake(store, Health(), Arrivals(), POLICY.received_from)
    chats = ChatToSlack(context)

    async def chat_event(webhook: ChatraWebhook) -> None:
        await chats.chat_event(webhook, 0)
        await posts.made()

    replies, changes = slack_to_chatra(context, chatra, NoFiles(), intake, Everyone())
    directions = SimpleNamespace(
        chat_event=chat_event, posts=posts, replies=replies, changes=changes
    )
    yield directions, slack, chatra
    await asyncio.to_thread(store.db.close)


def webhook(name: str, *messages: dict) -> ChatraWebhook:
    return read_webhook(chat_event(name, messages=list(messages), name="Jane"))[0]


async def test_the_same_chat_event_twice_posts_once(parts):
    bridge, slack, _ = parts
    event = webhook("chatStarted", visitor_says("m1", "hi"))
    await bridge.chat_event(event)
    await bridge.chat_event(event)

    assert [text for _, text in slack.posts] == ["Jane: hi (New chat)"]  # the card opens with it


async def test_a_reply_processed_twice_is_sent_once_and_its_echo_is_skipped(parts):
    bridge, slack, chatra = parts
    await bridge.chat_event(webhook("chatStarted", visitor_says("m1", "hi")))
    parent_ts = "1700000000.000001"
    reply = SlackReply(
        channel="C0SUPPORT1", thread_ts=parent_ts, ts="1.1", user="U1", text="hey <@U1>"
    )
    await bridge.replies.reply_written(reply)
    await bridge.replies.reply_written(reply)
    echo = {"id": "msg-1", "type": "agent", "message": "hey @Sam", "createdAt": 1_732_450_001_000}
    await bridge.chat_event(webhook("chatFragment", echo))

    assert chatra.sent == [("client-1", "hey @Sam")]
    assert chatra.agents == [Writer(agent_id="a1")]  # Sam writes as the agent with his email
    assert len(slack.posts) == 1  # the card, opening with the visitor's "hi": no echo


async def test_edit_and_delete_use_the_stored_chatra_id(parts):
    bridge, _, chatra = parts
    await bridge.chat_event(webhook("chatStarted", visitor_says("m1", "hi")))
    thread = dict(channel="C0SUPPORT1", thread_ts="1700000000.000001", ts="1.2")
    await bridge.replies.reply_written(SlackReply(**thread, user="U1", text="a"))
    await bridge.changes.edited(SlackEdit(**thread, user="U1", text="b"))
    await bridge.changes.deleted(SlackDeletion(**thread))
    await bridge.changes.deleted(SlackDeletion(**thread))

    assert chatra.edited == [("msg-1", "b")]
    assert chatra.deleted == ["msg-1"]


async def test_permanent_failure_is_recorded_and_warned_once(parts):
    bridge, slack, chatra = parts
    await bridge.chat_event(webhook("chatStarted", visitor_says("m1", "hi")))
    chatra.failure = MembraneError("bad_request", "Chatra refused the input", transient=False)
    reply = SlackReply(
        channel="C0SUPPORT1", thread_ts="1700000000.000001", ts="1.3", user="U1", text="x"
    )
    await bridge.replies.reply_written(reply)
    await bridge.replies.reply_written(reply)
    await bridge.posts.made()

    warnings = [text for _, text in slack.posts if ":warning:" in text]
    assert len(warnings) == 1 and "Chatra refused the input" in warnings[0]
