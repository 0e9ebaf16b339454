"""/chatra subcommands: answered at once, the result through response_url, errors in words."""

from types import SimpleNamespace

from handlers.commands import HELP, ChatraCommand
from tests.conftest import CHANNEL, CONNECTION
from tests.helpers import chat_event, visitor_says, wait_for

JANE = {
    "id": "client-1",
    "chatId": "chat-client-1",
    "name": "Jane Doe",
    "email": "jane@example.org",
    "phone": "+1 555 0100",
    "notes": "VIP",
    "browser": "Firefox 120",
    "os": "Linux",
    "city": "Berlin",
    "country": "Germany",
    "visitsCount": 7,
    "lastVisit": "2026-11-20 14:02",
    "pages": [{"url": "https://shop.example.org/pricing", "title": "Pricing <2026>"}],
    "info": {"plan": "pro"},
}


async def answer_to(bridge, slack, text: str) -> dict:
    before = len(slack.responses)
    status, ack = await bridge.slash_command(text)
    assert status == 200 and not ack  # an empty ack: the answer follows
    await wait_for(lambda: len(slack.responses) > before)
    response = slack.responses[-1]
    assert response["response_type"] == "ephemeral"
    return response


async def test_lookup_by_client_id_shows_what_chatra_knows(bridge, slack, membrane):
    membrane.clients["client-1"] = dict(JANE)
    response = await answer_to(bridge, slack, "lookup client-1")

    shown = str(response["blocks"])
    for fact in (
        "Jane Doe",
        "jane@example.org",
        "+1 555 0100",
        "VIP",
        "Firefox 120 on Linux",
        "Berlin, Germany",
        "*Visits*\\n7",
        "*Last visit*\\n2026-11-20 14:02",
        "<https://shop.example.org/pricing|Pricing &lt;2026&gt;>",
        "*plan*\\npro",
        "Open in Chatra",
    ):
        assert fact in shown
    assert "In Slack" not in shown  # no chat mirrored yet


async def test_lookup_by_email_or_thread_link_finds_the_mirrored_chat(bridge, slack, membrane):
    membrane.clients["client-1"] = dict(JANE)
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")], **JANE))
    await bridge.settled()
    thread_ts = slack.parents(CHANNEL)[0].ts
    link = f"https://example.slack.com/archives/{CHANNEL}/p{thread_ts.replace('.', '')}"

    for query in ("JANE@example.org", f"<{link}>"):
        response = await answer_to(bridge, slack, f"lookup {query}")
        assert "Jane Doe" in str(response["blocks"])
        assert "In Slack: 1 chat, the last <!date^" in str(response["blocks"])
        assert f"/archives/{CHANNEL}/p{thread_ts.replace('.', '')}|" in str(response["blocks"])


async def test_lookup_of_an_unknown_visitor_says_so(bridge, slack, membrane):
    assert (await answer_to(bridge, slack, "lookup nobody"))["text"] == (
        "Chatra knows no visitor `nobody`."
    )
    assert (await answer_to(bridge, slack, "lookup who@example.org"))["text"] == (
        "No visitor found for `who@example.org`."
    )


async def test_push_then_look_the_pushed_message_up(bridge, slack, membrane):
    response = await answer_to(bridge, slack, "push client-1 Your order shipped today")
    [(pushed_id, pushed)] = membrane.pushed.items()
    assert pushed["text"] == "Your order shipped today"
    assert (
        response["text"] == f":incoming_envelope: Pushed message `{pushed_id}` sent to `client-1`."
    )

    response = await answer_to(bridge, slack, f"pushed {pushed_id}")
    assert "Text: Your order shipped today" in response["text"]

    await answer_to(bridge, slack, "push client-1 agent:a9 From Ana")
    await answer_to(bridge, slack, "push client-1 group:g2 From sales")
    sent = membrane.runs_of("send-pushed-message")
    assert sent[-2] == {"clientId": "client-1", "text": "From Ana", "agentId": "a9"}
    assert sent[-1] == {"clientId": "client-1", "text": "From sales", "groupId": "g2"}


async def test_message_lookup_for_auditing(bridge, slack, membrane):
    message_id = "msg900001"
    membrane.messages[message_id] = {
        "id": message_id,
        "type": "agent",
        "clientId": "client-1",
        "agentId": "a9",
        "text": "Hello",
        "createdAt": 1732450000000,
    }
    response = await answer_to(bridge, slack, f"message {message_id}")
    assert "Agent: a9" in response["text"] and "Text: Hello" in response["text"]


async def test_errors_read_as_sentences(bridge, slack, membrane):
    response = await answer_to(bridge, slack, "push client-1 " + "x" * 5001)
    assert response["text"].startswith(":warning: The pushed message was not sent: Chatra refused")
    membrane.fail_next(status=400, type="connection")
    response = await answer_to(bridge, slack, "message m1")
    assert response["text"] == (
        f":warning: Chatra is disconnected in Membrane (connection {CONNECTION}): reconnect it"
    )


async def test_missing_arguments_get_the_usage(bridge):
    status, ack = await bridge.slash_command("push client-1")
    assert status == 200
    assert ack["text"] == "Usage: `/chatra push <client id> [agent:<id> | group:<id>] <text>`"


async def test_edit_opens_a_prefilled_modal_and_saving_updates_chatra_and_the_card(
    bridge, slack, membrane
):
    membrane.clients["client-1"] = dict(JANE)
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")], **JANE))
    await bridge.settled()

    status, ack = await bridge.slash_command("edit client-1")
    assert status == 200 and not ack
    view_id = next(iter(slack.views))
    await wait_for(lambda: slack.views[view_id].get("callback_id") == "edit_visitor")
    form = slack.views[view_id]
    prefilled = {b["block_id"]: b["element"].get("initial_value") for b in form["blocks"]}
    assert prefilled == {
        "name": "Jane Doe",
        "email": "jane@example.org",
        "phone": "+1 555 0100",
        "notes": "VIP",
    }

    status, answer = await bridge.submit(
        form, {"name": "Jane Roe", "email": "jane.roe@example.org", "phone": "", "notes": "VIP"}
    )
    assert status == 200 and not answer
    await wait_for(lambda: slack.ephemeral)

    assert membrane.runs_of("update-client")[-1] == {
        "clientId": "client-1",
        "name": "Jane Roe",
        "email": "jane.roe@example.org",
        "phone": None,  # emptied in the form: null, Chatra's way to remove a value
        "notes": "VIP",
    }
    assert "phone" not in membrane.clients["client-1"]
    assert slack.ephemeral == [
        ("U0AGENT01", ":white_check_mark: Visitor `client-1` updated in Chatra.")
    ]
    await bridge.settled()  # the card is drawn again
    card = slack.parents(CHANNEL)[0]
    assert "Jane Roe" in str(card.blocks) and "jane.roe@example.org" in str(card.blocks)
    assert "+1 555 0100" not in str(card.blocks)


async def test_invalid_edits_are_shown_in_the_modal_and_nothing_is_saved(bridge, slack, membrane):
    membrane.clients["client-1"] = dict(JANE)
    await bridge.slash_command("edit client-1")
    view_id = next(iter(slack.views))
    await wait_for(lambda: slack.views[view_id].get("callback_id") == "edit_visitor")

    status, answer = await bridge.submit(
        slack.views[view_id], {"name": "x" * 101, "email": "not-an-email"}
    )
    assert status == 200
    assert answer == {
        "response_action": "errors",
        "errors": {
            "name": "At most 100 characters, please.",
            "email": "This does not look like an email address.",
        },
    }
    assert membrane.runs_of("update-client") == []


async def test_edit_of_an_unknown_visitor_says_why_in_the_modal(bridge, slack, membrane):
    await bridge.slash_command("edit nobody")
    view_id = next(iter(slack.views))
    await wait_for(lambda: "client not found" in str(slack.views[view_id]["blocks"]))


async def test_app_home_lists_open_chats_and_health(bridge, slack, membrane):
    for client_id, name in (("client-a", "Ann"), ("client-b", "Bob")):
        await bridge.webhook(
            chat_event("chatStarted", client_id, [visitor_says(f"{client_id}-m", "hi")], name=name)
        )
    await bridge.webhook(
        chat_event("chatTranscript", "client-a", [visitor_says("client-a-m", "hi")], name="Ann")
    )
    await bridge.settled()
    bob = next(card for card in slack.parents(CHANNEL) if "Bob" in card.text)

    event = {"type": "app_home_opened", "user": "U0AGENT01", "channel": "D0HOME01", "tab": "home"}
    status, _ = await bridge.slack_event(event, "EvHOME001")
    assert status == 200
    await wait_for(lambda: "U0AGENT01" in slack.home)

    home = str(slack.home["U0AGENT01"]["blocks"])
    assert "*Open chats* (1)" in home and "Bob" in home and "Ann" not in home
    assert "Bob> · waiting 0 min · nobody has it" in home
    assert f"p{bob.ts.replace('.', '')}" in home  # a link to Bob's thread
    assert "Chatra reachable through Membrane" in home and "Events waiting: 0 · failed: 0" in home


def card_button(card, label: str) -> dict:
    [actions] = [b for b in card.blocks if b["type"] == "actions"]
    return next(button for button in actions["elements"] if button["text"]["text"] == label)


async def test_card_buttons_show_details_edit_and_push(bridge, slack, membrane):
    membrane.clients["client-1"] = dict(JANE)
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")], **JANE))
    await bridge.settled()
    card = slack.parents(CHANNEL)[0]

    await bridge.click(card_button(card, "Visitor details"), message_ts=card.ts, user="U0AGENT02")
    await wait_for(lambda: slack.ephemeral)
    assert slack.ephemeral[-1] == ("U0AGENT02", "Visitor Jane Doe")

    await bridge.click(card_button(card, "Edit visitor"), message_ts=card.ts, user="U0AGENT02")
    await wait_for(
        lambda: any(v.get("callback_id") == "edit_visitor" for v in slack.views.values())
    )

    await bridge.click(
        card_button(card, "Send pushed message"), message_ts=card.ts, user="U0AGENT02"
    )
    [push_form] = [v for v in slack.views.values() if v.get("callback_id") == "push_message"]
    status, answer = await bridge.submit(push_form, {"text": "  "}, user="U0AGENT02")
    assert answer == {"response_action": "errors", "errors": {"text": "Write something to send."}}
    status, answer = await bridge.submit(push_form, {"text": "Your parcel left"}, user="U0AGENT02")
    assert status == 200 and not answer
    await wait_for(lambda: membrane.pushed)
    [(pushed_id, pushed)] = membrane.pushed.items()
    assert (pushed["clientId"], pushed["text"]) == ("client-1", "Your parcel left")
    await wait_for(lambda: pushed_id in slack.ephemeral[-1][1])


async def test_a_pushed_message_can_be_edited_and_deleted_from_its_answer(bridge, slack, membrane):
    response = await answer_to(bridge, slack, "push client-1 Sale ends Friday")
    [(pushed_id, _)] = membrane.pushed.items()
    edit, delete = response["blocks"][1]["elements"]
    assert delete["confirm"]["title"]["text"] == "Delete the pushed message?"

    await bridge.click(edit, message_ts="1.1", user="U0AGENT01")
    await wait_for(lambda: any(v.get("callback_id") == "edit_pushed" for v in slack.views.values()))
    [form] = [v for v in slack.views.values() if v.get("callback_id") == "edit_pushed"]
    assert form["blocks"][0]["element"]["initial_value"] == "Sale ends Friday"
    await bridge.submit(form, {"text": "Sale ends Saturday"})
    await wait_for(lambda: membrane.pushed[pushed_id]["text"] == "Sale ends Saturday")
    await wait_for(lambda: slack.ephemeral)
    assert slack.ephemeral[-1][1] == f":pencil2: Pushed message `{pushed_id}` changed."

    before = len(slack.responses)
    await bridge.click(delete, message_ts="1.1", user="U0AGENT01")
    await wait_for(lambda: len(slack.responses) > before)
    assert slack.responses[-1]["text"] == f":wastebasket: Pushed message `{pushed_id}` deleted."
    assert slack.responses[-1]["replace_original"] is True
    assert membrane.pushed == {}


async def test_message_shortcut_looks_up_the_visitor_of_a_thread(bridge, slack, membrane):
    membrane.clients["client-1"] = dict(JANE)
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")], **JANE))
    await bridge.settled()  # the card on Slack: what follows is a reply in its thread
    later = [visitor_says("m2", "still there?", at=1_732_450_001_000)]
    await bridge.webhook(chat_event("chatFragment", messages=later, **JANE))
    await bridge.settled()
    card = slack.parents(CHANNEL)[0]
    reply = slack.replies(CHANNEL, card.ts)[0]

    before = len(slack.responses)
    message = {"type": "message", "ts": reply.ts, "thread_ts": card.ts, "text": "hi"}
    status, _ = await bridge.message_shortcut("visitor_of_message", message)
    assert status == 200
    await wait_for(lambda: len(slack.responses) > before)
    assert "Jane Doe" in str(slack.responses[-1]["blocks"])

    elsewhere = {"type": "message", "ts": "1700000000.000009", "text": "lunch?"}
    await bridge.message_shortcut("visitor_of_message", elsewhere)
    await wait_for(lambda: slack.responses[-1].get("text") == "This is not a Chatra chat's thread.")


async def test_a_lookup_can_be_shared_with_the_channel(bridge, slack, membrane):
    membrane.clients["client-1"] = dict(JANE)
    await bridge.slash_command("lookup client-1 share")
    await wait_for(lambda: slack.responses)
    assert slack.responses[-1]["response_type"] == "in_channel"
    assert "Jane Doe" in str(slack.responses[-1]["blocks"])


async def test_a_listener_is_a_method_a_test_can_call_without_slack():
    said: list[dict] = []

    async def ack(**answer) -> None:
        said.append(answer)

    nothing = SimpleNamespace()
    door = SimpleNamespace(
        visitors=nothing, team=nothing, stats=nothing, saved=nothing, online=nothing
    )
    command = ChatraCommand(door)
    await command.on_chatra(
        ack=ack, command={"text": "help", "user_id": "U1"}, client=None, context={}
    )
    assert said == [{"response_type": "ephemeral", "text": HELP}]
