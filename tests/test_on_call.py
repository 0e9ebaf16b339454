"""Who is on call: set with /chatra oncall, kept in SQLite, told on every new chat's card."""

from tests.conftest import CHANNEL
from tests.helpers import chat_event, start_chat, visitor_says, wait_for


async def test_on_call_people_are_told_on_each_new_chat_card(bridge, slack):
    _, answer = await bridge.slash_command("oncall")
    assert answer == {"response_type": "ephemeral", "text": "No one is on call."}

    _, answer = await bridge.slash_command("oncall <@U0AGENT01|sam> <@U0AGENT02|kim>")
    assert answer["response_type"] == "in_channel"
    assert answer["text"] == "On call: <@U0AGENT01>, <@U0AGENT02>"

    await bridge.restart()  # kept in SQLite
    card = await start_chat(bridge, slack, says="hi", name="Jane")
    assert card.text.endswith("<@U0AGENT01> <@U0AGENT02>")  # the notification reaches them
    assert ":rotating_light: On call: <@U0AGENT01> <@U0AGENT02>" in str(card.blocks)

    later = [visitor_says("m2", "my email", at=1_732_450_009_000)]
    await bridge.webhook(chat_event("chatFragment", messages=later, name="Jane", email="j@x.org"))
    await bridge.settled()
    assert "j@x.org" in str(card.blocks) and "On call: <@U0AGENT01>" in str(card.blocks)


async def test_no_one_on_call_is_said_on_the_card_and_on_app_home(bridge, slack):
    await bridge.slash_command("oncall <@U0AGENT01>")
    _, answer = await bridge.slash_command("oncall off")
    assert answer["text"] == "No one is on call."
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")]))
    await bridge.settled()
    assert ":zzz: No one is on call" in str(slack.parents(CHANNEL)[0].blocks)

    await bridge.slash_command("oncall <@U0AGENT02>")
    event = {"type": "app_home_opened", "user": "U0AGENT01", "channel": "D0HOME01", "tab": "home"}
    await bridge.slack_event(event, "EvHOME002")
    await wait_for(lambda: "U0AGENT01" in slack.home)
    assert "On call: <@U0AGENT02>" in str(slack.home["U0AGENT01"]["blocks"])


async def test_on_call_without_mentions_explains_how(bridge):
    _, answer = await bridge.slash_command("oncall sam")
    assert answer["text"] == (
        "Name people or a user group with @mentions: `/chatra oncall @you @them`."
    )
