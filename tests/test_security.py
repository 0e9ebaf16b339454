"""Only the team acts on visitors, each command or click once; what changed leaves an audit line."""

import logging
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from bot.trying.sandboxed import RunningApp
from handlers.app_keys import CORE
from sandbox.chatra import chat_event, visitor_says
from sandbox.server import serve_locally
from sandbox.slack_wire import TEAM_ID
from tests.conftest import CHANNEL
from tests.helpers import answer, event_id, reply, run_sql, share_files, start_chat, wait_for

BASE = "https://b.test"  # where the bridge serves the files visitors get


@pytest.fixture
def a_guest(slack) -> str:
    slack.users["U0GUEST01"] = {"id": "U0GUEST01", "name": "gus", "is_restricted": True}
    return "U0GUEST01"


async def test_guests_and_people_outside_the_channel_cannot_act_and_are_told_why(
    bridge, slack, membrane, a_guest
):
    membrane.clients["client-1"] = {"id": "client-1", "name": "Jane"}
    slack.members[CHANNEL] = {"U0AGENT01", "U0AGENT03", a_guest}  # Kim is not in the channel

    said = await answer(bridge, slack, "lookup client-1", a_guest)
    assert said == ":no_entry: Guests cannot act on Chatra visitors."
    said = await answer(bridge, slack, "push client-1 Hello", "U0AGENT02")
    assert (
        said
        == f":no_entry: Only the members of <#{CHANNEL}> act on Chatra visitors: ask to be added."
    )
    said = await answer(bridge, slack, "oncall <@U0AGENT02>", "U0AGENT02")
    assert said.startswith(":no_entry: Only the members of")
    assert "Jane" in await answer(bridge, slack, "lookup client-1", "U0AGENT01")  # a member may
    assert "/chatra help" in await answer(bridge, slack, "help", a_guest)  # harmless: anyone

    assert [key for key, _ in membrane.runs] == ["get-client"]
    assert membrane.pushed == {}


async def test_allowed_users_decide_who_acts_when_set(settings, slack, membrane):
    app = await RunningApp(settings.model_copy(update={"allowed_users": "U0AGENT02"})).start()
    try:
        refused = await answer(app, slack, "open", "U0AGENT01")
        allowed = await answer(app, slack, "open", "U0AGENT02")
    finally:
        await app.close()
    assert refused == ":no_entry: Only the people in ALLOWED_USERS act on Chatra visitors."
    assert allowed == "No open chats."


async def test_a_reply_from_outside_the_team_never_reaches_the_visitor_and_the_thread_says_so(
    bridge, slack, membrane
):
    slack.members[CHANNEL] = {"U0AGENT01"}
    thread_ts = (await start_chat(bridge, slack, messages=[visitor_says("", "Hi")])).ts
    for n in range(2):
        await bridge.slack_event(
            reply(thread_ts, f"1800000040.00000{n}", f"psst {n}", user="U0AGENT02"), event_id()
        )
    await bridge.settled()

    assert membrane.runs_of("send-agent-message") == []
    notices = [r.text for r in slack.replies(CHANNEL, thread_ts) if ":no_entry:" in r.text]
    assert notices == [
        ":no_entry: <@U0AGENT02>'s replies here do not reach the visitor. Only the members of"
        f" <#{CHANNEL}> act on Chatra visitors: ask to be added."
    ]


async def test_a_button_or_a_form_from_outside_the_team_is_refused_in_words(
    bridge, slack, membrane
):
    slack.members[CHANNEL] = {"U0AGENT01"}
    button = {"action_id": "push_open", "value": "client-1", "type": "button"}
    status, _ = await bridge.click(button, message_ts="1.0", user="U0AGENT02")
    assert status == 200 and slack.views == {}
    assert slack.responses[-1]["text"].startswith(":no_entry: Only the members of")

    form = {"type": "modal", "callback_id": "push_message", "private_metadata": "client-1"}
    status, answer = await bridge.submit(form, {"text": "Hello"}, user="U0AGENT02")
    assert status == 200 and answer["response_action"] == "update"
    assert "Only the members of" in str(answer["view"])
    assert membrane.pushed == {}


async def test_a_replayed_command_is_carried_out_once(bridge, slack, membrane):
    membrane.clients["client-1"] = {"id": "client-1", "name": "Jane"}
    form = {
        "command": "/chatra",
        "text": "push client-1 Your parcel is here",
        "user_id": "U0AGENT01",
        "channel_id": CHANNEL,
        "team_id": TEAM_ID,
        "response_url": bridge.settings.slack_api_url.removesuffix("api/") + "response/9",
        "trigger_id": "7.77.777",
    }
    body = urllib.parse.urlencode(form).encode()
    for _ in range(5):  # signed anew each time, as a replay within 5 minutes is
        status, _ = await bridge.slack_post(body, "application/x-www-form-urlencoded")
        assert status == 200
    await wait_for(lambda: membrane.pushed)
    await bridge.settled()

    assert len(membrane.runs_of("send-pushed-message")) == 1


async def test_every_change_leaves_an_audit_line_and_a_count(bridge, slack, membrane, caplog):
    caplog.set_level(logging.INFO, logger="bot.audit")
    membrane.clients["client-1"] = {"id": "client-1", "name": "Jane"}
    thread_ts = (await start_chat(bridge, slack, messages=[visitor_says("", "Hi")])).ts
    await bridge.slack_event(reply(thread_ts, "1800000050.000001", "Hello"), event_id())
    await answer(bridge, slack, "push client-1 A gift", "U0AGENT01")
    await answer(bridge, slack, "oncall <@U0AGENT02>", "U0AGENT01")
    await bridge.settled()

    lines = [r.getMessage() for r in caplog.records if r.name == "bot.audit"]
    assert "U0AGENT01 reply_sent in chat client-1: 1800000050.000001" in lines
    assert any(line.startswith("U0AGENT01 pushed_message_sent in chat client-1") for line in lines)
    assert "U0AGENT01 on_call_changed: <@U0AGENT02>" in lines
    _, metrics = await bridge.request("GET", "/metrics")
    assert 'chatra_bridge_actions_total{action="reply_sent"} 1.0' in metrics


@asynccontextmanager
async def a_chat_sharing_files(settings, slack, **update) -> AsyncIterator[tuple[RunningApp, str]]:
    """A bridge serving shared files at https://b.test (with `update` to its settings), a chat
    mirrored: the bridge, and the chat's thread."""
    app = await RunningApp(settings.model_copy(update={"public_url": BASE, **update})).start()
    try:
        await app.webhook(chat_event("chatStarted", messages=[visitor_says("", "Hi")]))
        await app.settled()
        yield app, slack.parents(CHANNEL)[0].ts
    finally:
        await app.close()


def link_in(sent: str) -> str:
    """The path of the file link in a message the visitor got."""
    return sent.split(f"({BASE}", 1)[1].rstrip(")")


async def test_files_go_with_their_message_after_their_days_or_past_the_cap(
    settings, slack, membrane
):
    cap = 0.00003  # about 31 bytes
    async with a_chat_sharing_files(settings, slack, files_max_mb=cap) as (app, thread_ts):
        first = slack.share_file("F1", "one.txt", b"x" * 20, "text/plain")
        await share_files(app, thread_ts, "1800000060.000001", [first])
        second = slack.share_file("F2", "two.txt", b"y" * 20, "text/plain")
        await share_files(app, thread_ts, "1800000060.000002", [second])
        links = [link_in(text) for text in membrane.visible_messages("client-1")]
        one, two = (link.splitlines()[0] for link in links)
        assert (await app.request("GET", one))[0] == 404  # the oldest went: over FILES_MAX_MB
        assert (await app.request("GET", two)) == (200, "y" * 20)

        deletion = {
            "type": "message",
            "subtype": "message_deleted",
            "channel": CHANNEL,
            "deleted_ts": "1800000060.000002",
            "previous_message": reply(thread_ts, "1800000060.000002", "Here:"),
        }
        await app.slack_event(deletion, event_id())
        await app.settled()
        assert (await app.request("GET", two))[0] == 404  # deleted with its message


async def test_files_past_their_days_are_deleted(settings, slack, membrane):
    async with a_chat_sharing_files(settings, slack) as (app, thread_ts):
        file = slack.share_file("F3", "old.txt", b"old", "text/plain")
        await share_files(app, thread_ts, "1800000061.000001", [file])
        [sent] = membrane.visible_messages("client-1")
        link = link_in(sent)
        assert (await app.request("GET", link))[0] == 200
        files = app.app[CORE].edges.files
        assert await files.prune(now=time.time() + 29 * 86400) == 0  # FILES_RETENTION_DAYS is 30
        assert await files.prune(now=time.time() + 31 * 86400) == 1
        assert (await app.request("GET", link))[0] == 404


async def test_the_bot_token_goes_only_over_https_to_slacks_own_file_host(
    settings, slack, membrane
):
    knocks: list[str] = []

    async def thief(request: web.Request) -> web.Response:
        knocks.append(request.headers.get("Authorization", ""))
        return web.Response(body=b"stolen")

    other = web.Application()
    other.router.add_get("/{tail:.*}", thief)
    runner, elsewhere = await serve_locally(other)  # the same host as the API, another port
    try:
        async with a_chat_sharing_files(settings, slack) as (app, thread_ts):
            lures = [
                {"id": "F8", "name": "a.pdf", "url_private": f"{elsewhere}/files-pri/T-F8/a.pdf"},
                {
                    "id": "F9",
                    "name": "b.pdf",
                    "url_private": "http://files.slack.com/files-pri/b.pdf",
                },
            ]
            await share_files(app, thread_ts, "1800000062.000001", lures)
    finally:
        await runner.cleanup()

    assert knocks == []
    [warning] = [r.text for r in slack.replies(CHANNEL, thread_ts) if ":warning:" in r.text]
    assert "“a.pdf, b.pdf”" in warning and "not over https on Slack" in warning


@pytest.mark.sqlite_only  # files beside the SQLite file, as versions before schema 8 kept them
async def test_files_kept_beside_the_database_by_an_earlier_version_move_in_and_keep_their_links(
    settings,
):
    token = "ab" * 20
    earlier = Path(settings.database_path).parent / "files" / token
    earlier.mkdir(parents=True)
    (earlier / "label.pdf").write_bytes(b"%PDF-1.4 label")
    app = await RunningApp(settings.model_copy(update={"public_url": BASE})).start()
    try:
        status, body = await app.request("GET", f"/files/{token}/label.pdf")
        assert status == 200 and body == "%PDF-1.4 label"
        assert not earlier.exists()  # moved into the database
    finally:
        await app.close()


async def test_app_home_shows_chats_and_health_only_to_the_team(bridge, slack, a_guest):
    slack.members[CHANNEL] = {"U0AGENT01", a_guest}  # Kim is not in the channel
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("", "Hi")], name="Jane"))
    await bridge.settled()
    for n, user in enumerate(("U0AGENT01", "U0AGENT02", a_guest)):
        opened = {"type": "app_home_opened", "user": user, "channel": "D0HOME01", "tab": "home"}
        await bridge.slack_event(opened, f"EvHOME10{n}")
    await wait_for(lambda: len(slack.home) == 3)
    assert "Jane" in str(slack.home["U0AGENT01"]) and "On call" in str(slack.home["U0AGENT01"])
    for user, why in (
        ("U0AGENT02", f"Only the members of <#{CHANNEL}> act on Chatra visitors: ask to be added."),
        (a_guest, "Guests cannot act on Chatra visitors."),
    ):
        [_, line] = slack.home[user]["blocks"]
        assert line["text"]["text"] == f":no_entry: {why}"
    _, ack = await bridge.slash_command("open", user="U0AGENT02")
    assert ack["text"].startswith(":no_entry: Only the members of")


async def test_app_homes_chart_is_stored_once_per_picture_and_never_counts_as_shared(
    settings, slack, membrane
):
    cap = 0.00005  # about 52 bytes
    async with a_chat_sharing_files(settings, slack, files_max_mb=cap) as (app, thread_ts):
        first = slack.share_file("F1", "one.txt", b"x" * 20, "text/plain")
        await share_files(app, thread_ts, "1800000061.000001", [first])
        for n, client in enumerate(("client-1", "client-1", "client-2")):  # the figures change
            hello = [visitor_says("", "Hi")]
            await app.webhook(chat_event("chatStarted", client, hello))
            await app.settled()
            opened = {"type": "app_home_opened", "user": "U0AGENT01", "tab": "home"}
            await app.slack_event(opened, f"EvCHART0{n}")
            await wait_for(lambda n=n: len(slack.calls_to("views.publish")) == n + 1)
        second = slack.share_file("F2", "two.txt", b"y" * 20, "text/plain")
        await share_files(app, thread_ts, "1800000061.000002", [second])  # prunes
        [one] = [t for t in membrane.visible_messages("client-1") if "one.txt" in t]
        link = link_in(one)
        assert (await app.request("GET", link)) == (200, "x" * 20)  # 40 bytes shared: kept
        charts = run_sql(app.settings, "SELECT count(*) FROM shared_files WHERE name = 'chart.png'")
        assert charts == [(2,)]  # two pictures: the second open drew the same one
