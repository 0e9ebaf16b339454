"""Messages no person wrote (a trigger's greeting, a bot, a pushed message, Chatra's notices) are
shown marked as automatic, and never answer the visitor: the wait runs on, the nudge comes, and
no figure counts them as a first response."""

import asyncio

from bot.cli import main
from sandbox.chatra import trigger_says
from tests.conftest import CHANNEL
from tests.helpers import (
    agent_says,
    chat_event,
    checks_run,
    nudges,
    start_chat,
    visitor_says,
    wait_for,
)

GREETING = "Hi there! Need a hand choosing a plan?"


async def test_a_triggers_greeting_is_shown_as_automatic_and_leaves_the_visitor_waiting(
    app, slack, clock
):
    said = [
        trigger_says(GREETING),
        visitor_says("m1", "yes, which plan has SSO?", at=1_732_450_005_000),
    ]
    card = await start_chat(app, slack, messages=said, name="Jane")
    assert card.lines == [
        ("Ana (Chatra, automatic message)", GREETING),
        ("Jane", "yes, which plan has SSO?"),
    ]

    clock.advance(1)
    promise = [trigger_says("We usually reply within minutes", at=1_732_450_060_000)]
    await app.webhook(chat_event("chatFragment", messages=promise, name="Jane"))
    await app.settled()
    clock.advance(2.5)
    [nudge] = await wait_for(lambda: nudges(slack, card.ts))
    assert nudge == ":hourglass: Jane has waited 4 min for an answer."

    await app.slash_command("stats today")
    [answer] = await wait_for(lambda: slack.responses)
    assert "Chats: *1* · answered: 0 · never answered: 1" in answer["text"]


async def test_a_bot_and_chatras_own_notices_are_marked_and_an_agents_answer_still_answers(
    app, slack, clock, capsys, monkeypatch
):
    hello = [visitor_says("m1", "hello?")]
    card = await start_chat(app, slack, messages=hello, name="Jane")
    clock.advance(1)
    automatic = [
        {"type": "agent", "text": "I am a bot: an agent comes soon", "isBot": True},
        {"type": "system", "text": "The visitor left the page"},
    ]
    await app.webhook(chat_event("chatFragment", messages=automatic, name="Jane"))
    await app.settled()
    shown = slack.replies(CHANNEL, card.ts)
    assert [(r.args.get("username"), r.text) for r in shown[-2:]] == [
        ("Chatra (bot)", "I am a bot: an agent comes soon"),
        (None, "Chatra: The visitor left the page"),
    ]
    assert shown[-2].args["icon_emoji"] == ":robot_face:"

    clock.advance(1)
    answer = [agent_says("m2", "Hi Jane, Ana here", at=1_732_450_120_000)]
    await app.webhook(chat_event("chatFragment", messages=answer, name="Jane"))
    await app.settled()
    clock.advance(10)
    await checks_run(app)
    assert nudges(slack, card.ts) == []  # the agent's answer ended the wait
    await app.close()
    where = app.settings.database_url or app.settings.database_path
    where = where if isinstance(where, str) else where.get_secret_value()
    monkeypatch.setattr("time.time", lambda: clock.now)  # the report's "since" by its clock
    assert await asyncio.to_thread(main, ["report", "--csv", "--database", where]) == 0
    report = capsys.readouterr().out
    assert ",120," in report.splitlines()[1]  # the first response is Ana's, 2 min in


async def test_a_pushed_message_sent_from_slack_is_shown_once_marked_and_answers_nothing(
    app, slack, membrane, clock
):
    secret = app.settings.chatra_webhook_secret.get_secret_value()
    membrane.echo_to = f"{app.url}/chatra/webhook/{secret}"
    card = await start_chat(app, slack, says="hi", name="Jane")

    await app.slash_command("push client-1 agent:a9 Your order has shipped")
    [told] = await wait_for(lambda: slack.responses)
    assert "Pushed message `push" in told["text"]

    def pushed() -> list:
        return [r for r in slack.replies(CHANNEL, card.ts) if "has shipped" in r.text]

    await wait_for(pushed)
    await app.settled()
    assert [(r.author, r.text) for r in pushed()] == [
        ("Ana (Chatra, pushed message)", "Your order has shipped")
    ]
    clock.advance(3.5)
    await wait_for(lambda: nudges(slack, card.ts))  # Jane still waits for an answer
