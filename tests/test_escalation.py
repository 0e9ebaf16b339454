"""No visitor waits unanswered: a nudge after 3 min; after 10, DMs and a broadcast. Once."""

from bot.core.slack_ui.notices import how_long
from tests.conftest import CHANNEL
from tests.helpers import (
    RunningApp,
    agent_says,
    button_on,
    chat_event,
    checks_run,
    event_id,
    nudges,
    reply,
    start_chat,
    visitor_says,
    wait_for,
)


async def test_a_waiting_visitor_is_nudged_then_escalated_once(app, slack, clock):
    await app.slash_command("oncall <@U0AGENT01> <@U0AGENT02>")
    thread_ts = (await start_chat(app, slack, says="hello?", name="Jane")).ts

    clock.advance(2)
    await checks_run(app)
    assert nudges(slack, thread_ts) == []

    clock.advance(1.5)
    await wait_for(lambda: nudges(slack, thread_ts))
    await app.restart()  # the timer lives in SQLite
    clock.advance(7)
    await wait_for(
        lambda: any(r.args.get("reply_broadcast") for r in slack.replies(CHANNEL, thread_ts))
    )
    clock.advance(30)
    await checks_run(app)  # and later checks add nothing

    assert nudges(slack, thread_ts) == [":hourglass: Jane has waited 4 min for an answer."]
    [broadcast] = [r for r in slack.replies(CHANNEL, thread_ts) if r.args.get("reply_broadcast")]
    assert broadcast.text == (
        ":rotating_light: <@U0AGENT01> <@U0AGENT02> Jane has waited 10 min without an answer."
    )
    assert [len(slack.dms_to(user)) for user in ("U0AGENT01", "U0AGENT02")] == [1, 1]
    assert not any(m.channel.startswith("U") for m in slack.messages)  # DMs live at D… ids


async def test_an_answer_stops_the_wait(app, slack, clock):
    thread_ts = (await start_chat(app, slack, says="hello?", name="Jane")).ts
    await app.slack_event(reply(thread_ts, "1800000050.000001", "Hi Jane!"), event_id())
    await app.settled()

    clock.advance(20)
    await checks_run(app)
    assert nudges(slack, thread_ts) == []

    later = [visitor_says("m2", "one more question", at=1_732_450_100_000)]
    await app.webhook(chat_event("chatFragment", messages=later, name="Jane"))
    await app.settled()
    clock.advance(3.5)
    await wait_for(lambda: nudges(slack, thread_ts))


async def test_claiming_shows_on_the_card_and_escalates_to_the_owner_alone(app, slack, clock):
    await app.slash_command("oncall <@U0AGENT01>")
    card = await start_chat(app, slack, says="hi", name="Jane")
    claim = next(b for b in card.blocks if b["type"] == "actions")["elements"][0]
    assert claim["text"]["text"] == "I'll take it"

    await app.click(claim, message_ts=card.ts, user="U0AGENT02")
    await wait_for(lambda: "Taken by <@U0AGENT02>" in str(card.blocks))
    assert "I'll take it" not in str(card.blocks)
    assert card.text.startswith("Jane: hi (Taken")  # no longer a new chat, in search too

    clock.advance(11)
    await wait_for(lambda: slack.dms_to("U0AGENT02"))
    await checks_run(app)
    assert not slack.dms_to("U0AGENT01")  # on call, but not theirs
    assert not any(r.args.get("reply_broadcast") for r in slack.replies(CHANNEL, card.ts))


async def test_the_first_answer_claims_and_open_lists_the_chats(app, slack, clock):
    for client_id, name in (("client-a", "Ann"), ("client-b", "Bob")):
        messages = [visitor_says(f"{client_id}-1", "hi")]
        await app.webhook(chat_event("chatStarted", client_id, messages, name=name))
    await app.settled()
    ann = next(c for c in slack.parents(CHANNEL) if "Ann" in c.text)
    await app.slack_event(reply(ann.ts, "1800000060.000001", "Hello Ann"), event_id())
    await app.settled()
    assert "Taken by <@U0AGENT01>" in str(ann.blocks)

    clock.advance(5)
    _, answer = await app.slash_command("open")
    lines = answer["text"].split("\n")
    assert lines[0] == "*Open chats* (2)"
    assert any("|Ann> · answered · taken by <@U0AGENT01>" in line for line in lines)
    assert any("|Bob> · waiting 5 min · nobody has it" in line for line in lines)


def new_chat_card(slack, name: str):
    return next(card for card in slack.parents(CHANNEL) if name in card.text)


async def test_a_weekly_rotation_hands_over_on_time_and_survives_restarts(app, slack, clock):
    # the clock starts on Friday 15 Jan 2027, 09:00 in Berlin
    _, answer = await app.slash_command(
        "oncall rotation <@U0AGENT01|sam> <@U0AGENT02|kim> monday 09:00 Europe/Berlin"
    )
    assert answer["text"] == (
        "On call: <@U0AGENT01> this week. Rotation <@U0AGENT01> → <@U0AGENT02>, handing over"
        " Mon 18 Jan 09:00 Europe/Berlin to <@U0AGENT02>."
    )
    await app.webhook(chat_event("chatStarted", "c-fri", [visitor_says("f1", "hi")], name="Fri"))
    await app.settled()
    assert new_chat_card(slack, "Fri").text.endswith("<@U0AGENT01>")

    await app.restart()
    clock.advance((2 * 24 + 23) * 60 + 59)  # Monday 08:59: still Sam
    assert "On call: <@U0AGENT01> this week" in (await app.slash_command("oncall"))[1]["text"]
    clock.advance(1)  # 09:00: Kim's week
    await app.webhook(chat_event("chatStarted", "c-mon", [visitor_says("m1", "hi")], name="Mon"))
    await app.settled()
    assert new_chat_card(slack, "Mon").text.endswith("<@U0AGENT02>")
    clock.advance(7 * 24 * 60)  # and back to Sam a week later
    assert "On call: <@U0AGENT01> this week" in (await app.slash_command("oncall"))[1]["text"]

    _, answer = await app.slash_command("oncall rotation <@U0AGENT01> someday 09:00")
    assert answer["text"] == "That rotation cannot be set: 'someday' is not a day of the week."
    _, answer = await app.slash_command("oncall rotation monday 09:00")
    assert answer["text"].startswith("Usage: `/chatra oncall rotation")


async def test_a_rotation_file_starts_once_and_keeps_its_turn_across_restarts(
    settings, slack, clock, tmp_path
):
    plan = tmp_path / "rotation.json"
    plan.write_text(
        '{"people": ["U0AGENT02", "U0AGENT01"], "handover": "friday 10:00", "timezone": "UTC"}'
    )
    configured = settings.model_copy(update={"oncall_rotation_file": str(plan)})
    running = await RunningApp(configured, clock).start()

    async def on_call() -> str:
        return (await running.slash_command("oncall"))[1]["text"]

    try:  # Friday 08:00 UTC: the first person is on call until the next handover
        assert (await on_call()).startswith("On call: <@U0AGENT02>")
        clock.advance(3 * 60)  # 11:00: handed over at 10:00
        assert (await on_call()).startswith("On call: <@U0AGENT01>")
        clock.advance(7 * 24 * 60)
        await running.restart()  # the same plan: its turn order stands
        assert (await on_call()).startswith("On call: <@U0AGENT02>")
    finally:
        await running.close()


async def test_a_user_group_on_call_is_mentioned_and_its_members_get_the_dms(app, slack, clock):
    slack.groups["S0SUPPORT"] = ["U0AGENT01", "U0AGENT02"]
    _, answer = await app.slash_command("oncall <!subteam^S0SUPPORT|@support>")
    assert answer["text"] == "On call: <!subteam^S0SUPPORT>"
    await app.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")], name="Jane"))
    await app.settled()
    card = slack.parents(CHANNEL)[0]
    assert card.text.endswith("<!subteam^S0SUPPORT>")

    clock.advance(11)
    await wait_for(lambda: [len(slack.dms_to(u)) for u in ("U0AGENT01", "U0AGENT02")] == [1, 1])
    [broadcast] = await wait_for(  # after the DMs
        lambda: [r for r in slack.replies(CHANNEL, card.ts) if r.args.get("reply_broadcast")]
    )
    assert broadcast.text.startswith(":rotating_light: <!subteam^S0SUPPORT> Jane has waited")


async def test_chats_outside_business_hours_say_so_on_the_card(settings, slack, clock):
    hours = {
        "business_hours": "mon-fri 09:00-17:00",
        "business_timezone": "Europe/Berlin",
        "away_message": "We are away until Monday 9:00; we will answer by email.",
    }
    running = await RunningApp(settings.model_copy(update=hours), clock).start()
    try:
        await running.webhook(
            chat_event("chatStarted", "c-in", [visitor_says("i", "hi")], name="In")
        )
        await running.settled()
        clock.advance(9 * 60)  # Friday 18:00 in Berlin: closed
        await running.webhook(
            chat_event("chatStarted", "c-out", [visitor_says("o", "hi")], name="Out")
        )
        await running.settled()
    finally:
        await running.close()

    inside, outside = new_chat_card(slack, "In"), new_chat_card(slack, "Out")
    assert "business hours" not in str(inside.blocks) and inside.text.startswith("In: hi (New chat")
    assert outside.text.startswith("Out: hi (New chat after hours")
    assert (
        ":crescent_moon: Outside business hours (Mon-Fri 09:00-17:00 Europe/Berlin): the visitor"
        " was told “We are away until Monday 9:00; we will answer by email.”"
    ) in str(outside.blocks)


async def test_a_nudge_whose_answer_slack_lost_is_not_posted_twice(app, slack, clock):
    thread_ts = (await start_chat(app, slack, says="hi", name="Jane")).ts
    slack.fail_next("chat.postMessage", status=500, error="internal_error", after_effect=True)
    clock.advance(4)
    await wait_for(lambda: slack.calls_to("conversations.replies"))  # the next check looks first
    await checks_run(app)
    assert nudges(slack, thread_ts) == [":hourglass: Jane has waited 4 min for an answer."]


def test_a_wait_is_said_in_seconds_below_a_minute_and_in_minutes_above():
    assert [how_long(s) for s in (0, 12.4, 59.4, 59.6, 90, 600)] == [
        "0 s",
        "12 s",
        "59 s",
        "1 min",
        "2 min",
        "10 min",
    ]


async def test_done_from_slack_stops_nudges_until_the_visitor_writes_again(app, slack, clock):
    card = await start_chat(app, slack, says="hi", name="Jane")

    await app.click(button_on(card, "Done"), message_ts=card.ts, user="U0AGENT01")
    await wait_for(lambda: "Done by <@U0AGENT01>" in str(card.blocks))
    assert "*Jane*  ·  Done" in str(card.blocks) and button_on(card, "Reopen")
    assert card.text.startswith("Jane: hi (Done")
    _, listed = await app.slash_command("open")
    assert "Jane" not in listed["text"]  # /chatra open leaves it out
    clock.advance(15)
    await checks_run(app)
    assert nudges(slack, card.ts) == [] and not slack.dms_to("U0AGENT01")

    again = [visitor_says("m2", "one more thing", at=1_732_450_100_000)]
    await app.webhook(chat_event("chatFragment", messages=again, name="Jane"))
    await app.settled()
    assert "Reopened: the visitor wrote again" in str(card.blocks) and button_on(card, "Done")
    assert "Done by" not in str(card.blocks)
    clock.advance(4)  # the on-call rules apply again
    await wait_for(lambda: nudges(slack, card.ts))


async def test_reopen_from_slack_says_who_and_an_answer_from_chatra_keeps_it_done(
    app, slack, clock
):
    card = await start_chat(app, slack, says="hi", name="Jane")
    await app.click(button_on(card, "Done"), message_ts=card.ts, user="U0AGENT01")
    await wait_for(lambda: "Done by" in str(card.blocks))
    from_dashboard = [agent_says("m2", "Anything else?", at=1_732_450_100_000)]
    await app.webhook(chat_event("chatFragment", messages=from_dashboard, name="Jane"))
    await app.settled()
    assert "Done by <@U0AGENT01>" in str(card.blocks)  # an agent's message does not reopen it

    await app.click(button_on(card, "Reopen"), message_ts=card.ts, user="U0AGENT02")
    await wait_for(lambda: "Reopened: by <@U0AGENT02>" in str(card.blocks))
    _, listed = await app.slash_command("open")
    assert "Jane" in listed["text"]


async def test_done_clicked_by_someone_outside_the_team_does_nothing(app, slack):
    slack.members[CHANNEL] = {"U0AGENT01"}
    card = await start_chat(app, slack, says="hi", name="Jane")
    await app.click(button_on(card, "Done"), message_ts=card.ts, user="U0AGENT02")
    await wait_for(lambda: slack.responses)
    assert slack.responses[-1]["text"].startswith(":no_entry:")
    assert "Done by" not in str(card.blocks)


def reaction(kind: str, card, user: str, name: str = "white_check_mark") -> dict:
    item = {"type": "message", "channel": CHANNEL, "ts": card.ts}
    return {"type": kind, "user": user, "reaction": name, "item": item, "event_ts": "1.000001"}


async def test_a_check_mark_on_the_card_marks_it_done_and_taking_it_off_reopens_it(app, slack):
    card = await start_chat(app, slack, says="hi", name="Jane")

    slack.person_reacted(CHANNEL, card.ts, "white_check_mark", "U0AGENT03")
    await app.slack_event(reaction("reaction_added", card, "U0AGENT03"), event_id())
    await wait_for(lambda: "Done by <@U0AGENT03>" in str(card.blocks))
    slack.person_reacted(CHANNEL, card.ts, "white_check_mark", "U0AGENT03", on=False)
    await app.slack_event(reaction("reaction_removed", card, "U0AGENT03"), event_id())
    await wait_for(lambda: "Reopened: by <@U0AGENT03>" in str(card.blocks))


async def test_a_check_mark_from_a_guest_or_on_a_reply_does_nothing(app, slack):
    slack.users["U0GUEST01"] = {"id": "U0GUEST01", "name": "gus", "is_restricted": True}
    card = await start_chat(app, slack, says="hi", name="Jane")
    assert (await app.slack_event(reaction("reaction_added", card, "U0GUEST01"), event_id()))[
        0
    ] == 200
    await app.slack_event(reaction("reaction_added", card, "U0AGENT01", "eyes"), event_id())
    await checks_run(app)
    assert "Done by" not in str(card.blocks)


async def test_a_check_mark_event_sent_again_after_it_was_taken_off_changes_nothing(app, slack):
    card = await start_chat(app, slack, says="hi", name="Jane")
    slack.person_reacted(CHANNEL, card.ts, "white_check_mark", "U0AGENT03")
    await app.slack_event(reaction("reaction_added", card, "U0AGENT03"), "EvCHECK001")
    await wait_for(lambda: "Done by <@U0AGENT03>" in str(card.blocks))
    slack.person_reacted(CHANNEL, card.ts, "white_check_mark", "U0AGENT03", on=False)
    await app.slack_event(reaction("reaction_removed", card, "U0AGENT03"), "EvCHECK002")
    await wait_for(lambda: "Reopened: by <@U0AGENT03>" in str(card.blocks))
    added_again = reaction("reaction_added", card, "U0AGENT03")
    status, _ = await app.slack_event(added_again, "EvCHECK001", retry_num=1)  # Slack's retry
    assert status == 200
    await app.settled()
    assert "Reopened: by <@U0AGENT03>" in str(card.blocks) and "Done by" not in str(card.blocks)


async def test_the_chat_stays_done_while_a_teammates_check_mark_stays(app, slack):
    card = await start_chat(app, slack, says="hi", name="Jane")
    for n, user in enumerate(("U0AGENT01", "U0AGENT03")):
        slack.person_reacted(CHANNEL, card.ts, "white_check_mark", user)
        await app.slack_event(reaction("reaction_added", card, user), f"EvMARK00{n}")
    await wait_for(lambda: "Done by <@U0AGENT01>" in str(card.blocks))
    slack.person_reacted(CHANNEL, card.ts, "white_check_mark", "U0AGENT03", on=False)
    await app.slack_event(reaction("reaction_removed", card, "U0AGENT03"), "EvMARK010")
    await app.settled()
    assert "Done by <@U0AGENT01>" in str(card.blocks)  # Sam's mark stays: still done
    slack.person_reacted(CHANNEL, card.ts, "white_check_mark", "U0AGENT01", on=False)
    await app.slack_event(reaction("reaction_removed", card, "U0AGENT01"), "EvMARK011")
    await wait_for(lambda: "Reopened: by <@U0AGENT01>" in str(card.blocks))
