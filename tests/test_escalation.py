"""No visitor waits unanswered: a nudge after 3 min; after 10, DMs and a broadcast. Once."""

import asyncio

import pytest

from tests.conftest import CHANNEL
from tests.helpers import RunningApp, chat_event, visitor_says, wait_for
from tests.test_slack_to_chatra import event_id, reply


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings, clock):
    fast = settings.model_copy(update={"escalation_check_seconds": 0.05})
    running = await RunningApp(fast, clock).start()
    yield running
    await running.close()


async def checks_run() -> None:
    """Let the escalation check (every 0.05 s here) run a few times."""
    await asyncio.sleep(0.3)


def nudges(slack, thread_ts: str) -> list[str]:
    return [r.text for r in slack.replies(CHANNEL, thread_ts) if ":hourglass:" in r.text]


async def test_a_waiting_visitor_is_nudged_then_escalated_once(app, slack, clock):
    await app.slash_command("oncall <@U0AGENT01> <@U0AGENT02>")
    await app.webhook(
        chat_event("chatStarted", messages=[visitor_says("m1", "hello?")], name="Jane")
    )
    await app.settled()
    thread_ts = slack.parents(CHANNEL)[0].ts

    clock.advance(2)
    await checks_run()
    assert nudges(slack, thread_ts) == []

    clock.advance(1.5)
    await wait_for(lambda: nudges(slack, thread_ts))
    await app.restart()  # the timer lives in SQLite
    clock.advance(7)
    await wait_for(
        lambda: any(r.args.get("reply_broadcast") for r in slack.replies(CHANNEL, thread_ts))
    )
    clock.advance(30)
    await checks_run()  # and later checks add nothing

    assert nudges(slack, thread_ts) == [":hourglass: Jane has waited 4 min for an answer."]
    [broadcast] = [r for r in slack.replies(CHANNEL, thread_ts) if r.args.get("reply_broadcast")]
    assert broadcast.text == (
        ":rotating_light: <@U0AGENT01> <@U0AGENT02> Jane has waited 10 min without an answer."
    )
    dms = sorted(m.channel for m in slack.messages if m.channel.startswith("U"))
    assert dms == ["U0AGENT01", "U0AGENT02"]


async def test_an_answer_stops_the_wait(app, slack, clock):
    await app.webhook(
        chat_event("chatStarted", messages=[visitor_says("m1", "hello?")], name="Jane")
    )
    await app.settled()
    thread_ts = slack.parents(CHANNEL)[0].ts
    await app.slack_event(reply(thread_ts, "1800000050.000001", "Hi Jane!"), event_id())
    await app.settled()

    clock.advance(20)
    await checks_run()
    assert nudges(slack, thread_ts) == []

    later = [visitor_says("m2", "one more question", at=1_732_450_100_000)]
    await app.webhook(chat_event("chatFragment", messages=later, name="Jane"))
    await app.settled()
    clock.advance(3.5)
    await wait_for(lambda: nudges(slack, thread_ts))
