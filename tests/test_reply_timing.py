"""A reply and its thread in time: pending shown only while a send takes a while, a reply under
a card the bridge has only just posted waits for its thread, a reply under a post that is not
a chat's is left alone."""

from handlers.app_keys import CORE
from storage import DatabaseUnavailable
from tests.conftest import CHANNEL
from tests.helpers import (
    RunningApp,
    answered_as_its_card_lands,
    chat_event,
    event_id,
    reply,
    start_chat,
    visitor_says,
    wait_for,
)


async def test_a_reply_shows_pending_only_while_a_send_takes_a_while(settings, slack, membrane):
    patient = settings.model_copy(update={"membrane_timeout": 5.0})
    app = await RunningApp(patient).start()
    try:
        card = await start_chat(app, slack)
        quick, slow = "1800000001.000500", "1800000001.000600"
        for ts, text in ((quick, "Hello"), (slow, "Still here")):
            slack.person_wrote(CHANNEL, ts, card.ts, text, user="U0AGENT01")
        await app.slack_event(reply(card.ts, quick, "Hello"), event_id())
        await app.settled()
        assert slack.reactions_on(CHANNEL, quick) == {"white_check_mark"}
        assert [a["name"] for a in slack.calls_to("reactions.add")] == ["white_check_mark"]
        assert slack.calls_to("reactions.remove") == []  # one call: nothing flickered

        membrane.latency = 2.0  # Chatra takes its time
        await app.slack_event(reply(card.ts, slow, "Still here"), event_id())
        await wait_for(lambda: slack.reactions_on(CHANNEL, slow) == {"hourglass_flowing_sand"})
        await app.settled(within=10)
        assert slack.reactions_on(CHANNEL, slow) == {"white_check_mark"}
    finally:
        await app.close()


async def test_a_reply_under_a_card_whose_record_waits_is_asked_for_again_and_sent_once(
    bridge, slack, membrane
):
    """The card is on Slack, but its record waits (the database is locked a moment) when an
    agent answers under it: Slack is asked to send the reply again, and it reaches the visitor
    once."""
    threads = bridge.app[CORE].runtime.store.threads

    class LockedTheFirstTime:
        def __init__(self, unit) -> None:
            self.unit, self.held = unit, False

        def now(self, *args, **kwargs):
            if not self.held:
                self.held = True
                raise DatabaseUnavailable("database is locked")
            return self.unit.now(*args, **kwargs)

    threads.posted = LockedTheFirstTime(threads.posted)
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "Hi")]))
    [card] = await wait_for(lambda: slack.parents(CHANNEL))
    answer = reply(card.ts, "1800000003.000001", "Hi!")
    status, _ = await bridge.slack_event(answer, "EvLOCKED01", resend=False)
    assert status in (200, 503)  # 503 while the record waits: Slack sends it again
    await bridge.settled(within=10)
    if status == 503:
        status, _ = await bridge.slack_event(answer, "EvLOCKED01", retry_num=1)
        assert status == 200
        await bridge.settled()
    assert threads.posted.held
    assert [run["text"] for run in membrane.runs_of("send-agent-message")] == ["Hi!"]


async def test_a_reply_under_a_card_slack_has_not_confirmed_yet_is_asked_for_again(
    bridge, slack, membrane
):
    """The card is on Slack and answered under before Slack's answer to its post arrives:
    nothing here knows the thread, so Slack is asked to send the reply again."""
    answer = reply("", "1800000003.000002", "Hello Jane")
    card = await answered_as_its_card_lands(
        bridge, slack, lambda ts: {**answer, "thread_ts": ts}, "EvEARLY001"
    )
    again = {**answer, "thread_ts": card}
    status, _ = await bridge.slack_event(again, "EvEARLY001", retry_num=1)
    assert status == 200
    await bridge.settled()
    assert [run["text"] for run in membrane.runs_of("send-agent-message")] == ["Hello Jane"]


async def test_a_reply_under_someone_elses_post_is_ignored(bridge, slack, membrane, thread_ts):
    someone = {"parent_user_id": "U0AGENT02"}
    elsewhere = reply("1700000000.000001", "1800000003.000003", "lunch?", **someone)
    status, _ = await bridge.slack_event(elsewhere, event_id())
    assert status == 200
    await bridge.settled()
    assert membrane.runs_of("send-agent-message") == []
