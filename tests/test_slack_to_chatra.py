"""Slack -> Chatra: a reply in a chat's thread reaches the visitor; edits and deletes follow."""

import os

from bot.trying.playground import newest_chat
from sandbox.membrane_cli import install
from tests.conftest import CHANNEL
from tests.helpers import (
    RunningApp,
    chat_event,
    deletion,
    edit,
    event_id,
    reply,
    start_chat,
    visitor_says,
    wait_for,
)


async def test_reply_in_thread_is_sent_to_the_visitor(bridge, membrane, thread_ts):
    status, _ = await bridge.slack_event(
        reply(thread_ts, "1800000001.000100", "On its way!"), event_id()
    )
    assert status == 200
    await bridge.settled()

    assert membrane.runs_of("send-agent-message") == [
        {
            "clientId": "client-1",
            "text": "On its way!",
            "agentId": "a9",
            "receivedFrom": "chatra-bridge",
        }
    ]
    assert membrane.visible_messages("client-1") == ["On its way!"]


async def test_every_reply_names_its_writer_as_chatra_requires(bridge, slack, membrane, thread_ts):
    await bridge.slack_event(reply(thread_ts, "1800000001.000110", "From Sam"), event_id())
    for n in range(2):  # Lee has an email in Slack, but no Chatra agent
        await bridge.slack_event(
            reply(thread_ts, f"1800000001.00012{n}", f"From Lee {n}", user="U0AGENT03"),
            event_id(),
        )
    await bridge.slack_event(  # Kim has neither: Chatra would refuse a message from nobody
        reply(thread_ts, "1800000001.000130", "From Kim", user="U0AGENT02"), event_id()
    )
    await bridge.settled()

    writers = [
        {k: v for k, v in run.items() if k.startswith("agent")}
        for run in membrane.runs_of("send-agent-message")
    ]
    assert writers == [
        {"agentId": "a9"},  # Sam's email is the Chatra agent Ana's: he writes as her
        {"agentEmail": "lee@example.org", "agentName": "Lee"},
        {"agentEmail": "lee@example.org", "agentName": "Lee"},
    ]
    assert {run["receivedFrom"] for run in membrane.runs_of("send-agent-message")} == {
        "chatra-bridge"
    }
    assert membrane.visible_messages("client-1") == ["From Sam", "From Lee 0", "From Lee 1"]
    notices = [
        r.text for r in slack.replies(CHANNEL, thread_ts) if ":information_source:" in r.text
    ]
    assert notices == [
        ":information_source: Lee has no Chatra agent linked, so the visitor sees their"
        " replies as Lee."
    ]
    [warning] = [r for r in slack.replies(CHANNEL, thread_ts) if ":warning:" in r.text]
    assert "“From Kim”" in warning.text and "/chatra agent" in warning.text
    assert "Try again" in str(warning.blocks)


async def test_agent_map_file_and_default_agent(settings, slack, membrane, tmp_path):
    agent_map = tmp_path / "agents.json"
    agent_map.write_text('{"U0AGENT02": "a7"}')
    configured = settings.model_copy(
        update={"agent_map_file": str(agent_map), "chatra_default_agent_id": "a9"}
    )
    app = await RunningApp(configured).start()
    try:
        thread = (await start_chat(app, slack)).ts
        for n, user in enumerate(["U0AGENT02", "U0AGENT03"]):
            await app.slack_event(
                reply(thread, f"1800000001.00013{n}", "hi", user=user), event_id()
            )
        await app.settled()
    finally:
        await app.close()

    assert [run["agentId"] for run in membrane.runs_of("send-agent-message")] == ["a7", "a9"]
    [notice] = [r.text for r in slack.replies(CHANNEL, thread) if ":information_source:" in r.text]
    assert "Lee has no Chatra agent linked, so the visitor sees their replies as Ana" in notice


async def test_mrkdwn_becomes_readable_plain_text(bridge, slack, membrane, thread_ts):
    text = (
        "Ask <@U0AGENT02> or see <https://help.example.org/ship|our guide>"
        " &amp; <mailto:a@b.io|a@b.io> &lt;3"
    )
    await bridge.slack_event(reply(thread_ts, "1800000001.000200", text), event_id())
    await bridge.settled()
    asked = await wait_for(lambda: slack.ephemeral_posts)  # a mention: its author decides
    send = asked[0]["blocks"][1]["elements"][0]
    await bridge.click(send, message_ts="1800000001.000201", user="U0AGENT01")
    await bridge.settled()

    assert membrane.visible_messages("client-1") == [
        "Ask @Kim Lee or see our guide (https://help.example.org/ship) & a@b.io <3"
    ]


async def test_slack_retry_of_the_same_event_sends_once(bridge, membrane, thread_ts):
    event = reply(thread_ts, "1800000001.000300", "Once only")
    same_id = event_id()
    await bridge.slack_event(event, same_id)
    status, _ = await bridge.slack_event(event, same_id, retry_num=1)
    assert status == 200
    await bridge.slack_event(event, event_id())  # even a new event id for the same message ts
    await bridge.settled()

    assert membrane.visible_messages("client-1") == ["Once only"]


async def test_echo_of_our_own_agent_message_is_not_posted_again(
    bridge, slack, membrane, thread_ts
):
    await bridge.slack_event(reply(thread_ts, "1800000001.000400", "Checking now"), event_id())
    await bridge.settled()
    [sent] = membrane.messages.values()
    echo = {
        "id": sent["id"],
        "type": "agent",
        "message": "Checking now",
        "agentId": "a9",
        "createdAt": sent["createdAt"],
    }
    later = visitor_says("m2", "thanks", at=sent["createdAt"] + 1000)
    await bridge.webhook(chat_event("chatFragment", messages=[echo, later], name="Jane"))
    await bridge.settled()

    texts = [r.text for r in slack.replies(CHANNEL, thread_ts)]
    assert not any("Checking now" in t for t in texts)
    assert "thanks" in texts[-1]


async def test_edit_in_slack_edits_the_chatra_message(bridge, membrane, thread_ts):
    ts = "1800000001.000500"
    await bridge.slack_event(reply(thread_ts, ts, "Teh parcel"), event_id())
    await bridge.slack_event(edit(thread_ts, ts, "Teh parcel", "The parcel"), event_id())
    await bridge.settled()

    [sent_id] = membrane.messages
    assert membrane.runs_of("edit-agent-message") == [{"messageId": sent_id, "text": "The parcel"}]
    assert membrane.visible_messages("client-1") == ["The parcel"]


async def test_delete_in_slack_deletes_the_chatra_message(bridge, membrane, thread_ts):
    ts = "1800000001.000600"
    await bridge.slack_event(reply(thread_ts, ts, "Wrong chat, sorry"), event_id())
    await bridge.settled()
    [sent_id] = membrane.messages
    await bridge.slack_event(deletion(thread_ts, ts, "Wrong chat, sorry"), event_id())
    await bridge.settled()

    assert membrane.runs_of("delete-agent-message") == [{"messageId": sent_id}]
    assert membrane.visible_messages("client-1") == []


async def test_what_is_not_a_persons_thread_reply_is_ignored(bridge, membrane, thread_ts):
    ignored = [
        reply(thread_ts, "1800000002.000001", "bot says", bot_id="BOTHER01", subtype="bot_message"),
        reply(
            thread_ts, "1800000002.000002", "our own post", user="UBOT000001", bot_id="BBOT000001"
        ),
        {**reply(thread_ts, "1800000002.000003", "top level"), "thread_ts": None},
        reply("1700000000.000001", "1800000002.000004", "other thread", parent_user_id="U0AGENT02"),
        {
            "type": "message",
            "subtype": "channel_join",
            "channel": CHANNEL,
            "user": "U0AGENT01",
            "ts": "1800000002.000005",
            "text": "joined",
        },
        # Slack's own message_changed for unfurls / reply counts: the text did not change
        edit(thread_ts, "1800000002.000006", "same", "same"),
    ]
    for event in ignored:
        status, _ = await bridge.slack_event(event, event_id())
        assert status == 200
    await bridge.settled()

    assert membrane.runs == []


async def test_an_internal_note_stays_in_slack(bridge, slack, membrane, thread_ts):
    for n, text in enumerate(["// check the refund policy first", "Note: VIP customer"]):
        ts = f"1800000005.00000{n}"
        slack.person_wrote(CHANNEL, ts, thread_ts, text, user="U0AGENT01")
        await bridge.slack_event(reply(thread_ts, ts, text), event_id())
        await bridge.slack_event(edit(thread_ts, ts, text, text + "!"), event_id())
    await bridge.settled()

    assert membrane.runs == []
    assert slack.reactions_on(CHANNEL, "1800000005.000000") == {"lock"}
    assert slack.reactions_on(CHANNEL, "1800000005.000001") == {"lock"}


async def test_thread_broadcast_reply_is_sent_too(bridge, membrane, thread_ts):
    event = reply(thread_ts, "1800000003.000001", "Also to channel", subtype="thread_broadcast")
    await bridge.slack_event(event, event_id())
    await bridge.settled()

    assert membrane.visible_messages("client-1") == ["Also to channel"]


async def test_conversation_order_is_kept(bridge, membrane, thread_ts):
    for n in range(5):
        await bridge.slack_event(reply(thread_ts, f"1800000004.00000{n}", f"part {n}"), event_id())
    await bridge.settled()

    assert membrane.visible_messages("client-1") == [f"part {n}" for n in range(5)]


async def test_agent_command_links_a_person_to_a_chatra_agent(bridge, slack, membrane, thread_ts):
    _, answer = await bridge.slash_command("agent", user="U0AGENT02")
    assert "No one is linked" in answer["text"]

    _, answer = await bridge.slash_command(
        "agent <mailto:ana@example.com|ana@example.com>", user="U0AGENT02"
    )
    assert answer["text"] == "<@U0AGENT02> writes to visitors as Ana (`a9`)."
    _, answer = await bridge.slash_command("agent <@U0AGENT01|sam> a7", user="U0AGENT02")
    assert answer["text"] == "<@U0AGENT01> writes to visitors as `a7`."
    _, answer = await bridge.slash_command("agent")
    assert "<@U0AGENT01> → `a7`" in answer["text"] and "<@U0AGENT02> → Ana (`a9`)" in answer["text"]
    _, answer = await bridge.slash_command("agent nobody@example.com")
    assert "No Chatra agent `nobody@example.com` is known yet" in answer["text"]

    for n, user in enumerate(["U0AGENT01", "U0AGENT02"]):
        await bridge.slack_event(
            reply(thread_ts, f"1800000001.00020{n}", "hi", user=user), event_id()
        )
    await bridge.settled()
    assert [run["agentId"] for run in membrane.runs_of("send-agent-message")] == ["a7", "a9"]

    await bridge.slash_command("agent off")  # U0AGENT01 back to the agent with their email
    await bridge.slack_event(reply(thread_ts, "1800000001.000210", "again"), event_id())
    await bridge.settled()
    assert membrane.runs_of("send-agent-message")[-1]["agentId"] == "a9"
    assert not [r for r in slack.replies(CHANNEL, thread_ts) if ":information_source:" in r.text]


def long_reply(words: int, word: str = "parcel") -> str:
    return " ".join(f"{word}{n}" for n in range(words))


async def test_a_reply_over_chatras_limit_goes_as_several_whole_messages(
    bridge, slack, membrane, thread_ts
):
    ts = "1800000001.000300"
    text = long_reply(1500) + " 🚚"  # 15,391 characters, ending in a 4-byte emoji
    slack.person_wrote(CHANNEL, ts, thread_ts, text, user="U0AGENT01")
    membrane.fail_next("send-agent-message", status=400, type="bad_request", skip=1)
    await bridge.slack_event(reply(thread_ts, ts, text), event_id())
    await bridge.settled()
    [warning] = [r for r in slack.replies(CHANNEL, thread_ts) if ":warning:" in r.text]
    assert len(membrane.visible_messages("client-1")) == 1  # the first piece went, then a refusal

    [button] = warning.blocks[1]["elements"]
    await bridge.click(button, message_ts=warning.ts, user="U0AGENT01")
    await bridge.settled()
    seen = membrane.visible_messages("client-1")
    assert len(seen) == 4 and all(len(piece) <= 5000 for piece in seen)
    assert "".join(seen) == text  # nothing sent twice, no word or emoji broken
    assert all(piece.endswith(" ") for piece in seen[:-1])
    assert slack.reactions_on(CHANNEL, ts) == {"white_check_mark"}

    assert len(membrane.runs_of("send-agent-message")) == 4  # the first piece was not resent
    shorter = long_reply(1200, "box")  # two pieces now: the first two edited, the rest deleted
    await bridge.slack_event(edit(thread_ts, ts, text, shorter), event_id())
    await bridge.settled()
    assert "".join(membrane.visible_messages("client-1")) == shorter
    assert len(membrane.runs_of("edit-agent-message")) == 2
    await bridge.slack_event(edit(thread_ts, ts, shorter, text), event_id())  # longer again
    await bridge.settled()
    assert "".join(membrane.visible_messages("client-1")) == text

    await bridge.slack_event(deletion(thread_ts, ts, text), event_id())
    await bridge.settled()
    assert membrane.visible_messages("client-1") == []


async def test_an_internal_discussion_of_a_chat_stays_in_slack(bridge, slack, membrane, thread_ts):
    [card] = slack.parents(CHANNEL)
    buttons = [e for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
    [discuss] = [b for b in buttons if b["text"]["text"] == "Discuss internally"]
    for clicks in (1, 2):  # a second click opens no second discussion
        await bridge.click(discuss, message_ts=card.ts, user="U0AGENT01")
        await wait_for(lambda n=clicks: len(slack.ephemeral) == n)
    [opened] = [m for m in slack.parents(CHANNEL) if m.ts != card.ts]
    assert "Internal discussion about the chat with" in opened.text and "Jane" in opened.text
    assert newest_chat(slack, CHANNEL) == card.ts  # the sandbox's reply goes to the chat
    [pointer] = [r for r in slack.replies(CHANNEL, thread_ts) if "Internal discussion" in r.text]
    assert opened.ts.replace(".", "") in pointer.text

    ts = "1800000001.000400"
    slack.person_wrote(CHANNEL, ts, opened.ts, "She asked twice already", user="U0AGENT02")
    await bridge.slack_event(reply(opened.ts, ts, "She asked twice already"), event_id())
    await bridge.settled()
    assert slack.reactions_on(CHANNEL, ts) == {"lock"}
    assert membrane.runs_of("send-agent-message") == []


async def test_with_the_cli_transport_replies_go_through_the_membrane_command_on_path(
    settings, slack, membrane, tmp_path, monkeypatch
):
    install(tmp_path)  # a stand-in `membrane` that runs actions on the fake Membrane
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MEMBRANE_URL", membrane.url)
    cli = settings.model_copy(  # a process started per action: slower than HTTP on a busy box
        update={"membrane_transport": "cli", "membrane_token": None, "membrane_timeout": 10.0}
    )
    app = await RunningApp(cli).start()
    try:
        thread = (await start_chat(app, slack)).ts
        await app.slack_event(reply(thread, "1800000001.000500", "Via the CLI"), event_id())
        await app.settled(within=15)
        await app.slack_event(
            edit(thread, "1800000001.000500", "Via the CLI", "Edited"), event_id()
        )
        await app.settled(within=15)
        membrane.disconnected = True
        await app.slack_event(reply(thread, "1800000001.000501", "Held"), event_id())
        await app.settled(within=15)
    finally:
        await app.close()

    assert membrane.visible_messages("client-1") == ["Edited"]
    [notice] = [m.text for m in slack.parents(CHANNEL) if ":electric_plug:" in m.text]
    assert "Chatra is disconnected in Membrane (connection conn-chatra-1): reconnect it" in notice
