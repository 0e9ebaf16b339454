"""State lives in SQLite: a restart (same database) keeps every mapping and pending event."""

import asyncio
import re
import shutil
from pathlib import Path

import pytest

import storage.facts
from handlers.app_keys import DATABASE
from tests.conftest import CHANNEL
from tests.helpers import (
    RunningApp,
    chat_event,
    edit,
    event_id,
    reply,
    start_chat,
    visitor_says,
    wait_for,
)


async def test_restart_keeps_threads_and_message_ids(bridge, slack, membrane):
    thread_ts = (await start_chat(bridge, slack, name="Jane")).ts
    await bridge.slack_event(reply(thread_ts, "1800000030.000001", "Hello Jane"), event_id())
    await bridge.settled()

    await bridge.restart()

    [sent] = membrane.messages.values()
    echo = {
        "id": sent["id"],
        "type": "agent",
        "message": "Hello Jane",
        "createdAt": sent["createdAt"],
    }
    fragment = [
        visitor_says("m1", "Hi"),
        echo,
        visitor_says("m2", "Thanks", at=sent["createdAt"] + 1),
    ]
    await bridge.webhook(chat_event("chatFragment", messages=fragment, name="Jane"))
    await bridge.slack_event(
        edit(thread_ts, "1800000030.000001", "Hello Jane", "Hello Jane!"), event_id()
    )
    await bridge.settled()

    assert len(slack.parents(CHANNEL)) == 1
    texts = slack.chat(CHANNEL, thread_ts)
    assert len(texts) == 2 and "Hi" in texts[0] and "Thanks" in texts[1]
    assert membrane.runs_of("edit-agent-message") == [
        {"messageId": sent["id"], "text": "Hello Jane!"}
    ]


async def test_event_accepted_before_a_stop_is_delivered_after_restart(bridge, slack, settings):
    slack.fail_next("chat.postMessage", status=500, error="internal_error", times=1000)
    status, _ = await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "Hi")]))
    assert status == 200

    await wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 2, within=15)  # tried again
    await bridge.stop()  # Slack was down the whole time this process ran
    slack.faults.clear()
    await bridge.start()
    await bridge.settled(within=10)

    [card] = slack.parents(CHANNEL)
    assert slack.chat(CHANNEL, card.ts) == ["Hi"]


async def test_a_message_posted_as_the_process_stopped_is_not_posted_again_after_restart(
    bridge, slack
):
    """Nothing is written before a Chatra message is posted: the restarted bridge knows the event
    was begun before (stored before it started) and asks Slack first."""
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m0", "hi")]))
    await bridge.settled()
    slack.fail_next("chat.postMessage", after_effect=True, status=500, error="internal_error")
    slack.fail_next("conversations.replies", status=500, error="internal_error", times=1000)
    await bridge.webhook(chat_event("chatFragment", messages=[visitor_says("m1", "still there?")]))
    [card] = slack.parents(CHANNEL)
    await wait_for(lambda: len(slack.replies(CHANNEL, card.ts)) == 1)  # posted; answer lost
    await wait_for(lambda: len(slack.calls_to("conversations.replies")) >= 1)  # in doubt
    await bridge.stop()
    slack.faults.clear()
    await bridge.start()
    await bridge.settled(within=10)

    assert slack.chat(CHANNEL, card.ts) == ["hi", "still there?"]


async def test_healthz_reports_database_and_version(bridge):
    status, body = await bridge.request("GET", "/healthz")
    assert status == 200
    assert body["ok"] is True and body["database"] == "ok" and body["version"]
    assert body["pending_events"] == 0


async def test_healthz_is_503_when_the_database_is_unreachable(bridge):
    await asyncio.to_thread(bridge.app[DATABASE].close)
    status, body = await bridge.request("GET", "/healthz")
    assert status == 503 and "closed" in body["database"]


async def test_metrics_count_events_actions_failures_and_the_inbox(bridge, slack, membrane):
    await bridge.webhook(chat_event("chatStarted", messages=[visitor_says("m1", "hi")]))
    await bridge.webhook(b"{not json")
    for path in ("/wp-login.php", "/.env"):  # a scanner: counted apart
        await bridge.request("GET", path)
    await bridge.settled()
    thread_ts = slack.parents(CHANNEL)[0].ts
    event = {
        "type": "message",
        "channel": CHANNEL,
        "user": "U0AGENT01",
        "text": "Hello!",
        "ts": "1800000001.000001",
        "thread_ts": thread_ts,
    }
    await bridge.slack_event(event, "EvMETRICS1")
    await bridge.settled()

    status, text = await bridge.request("GET", "/metrics")
    assert status == 200
    for line in (
        'chatra_bridge_events_in_total{source="chatra"} 1.0',
        'chatra_bridge_events_in_total{source="slack"} 1.0',
        'chatra_bridge_events_out_total{call="send-agent-message",target="membrane"} 1.0',
        'chatra_bridge_membrane_action_seconds_count{action="send-agent-message"} 1.0',
        'chatra_bridge_failures_total{type="bad_input"} 1.0',
        'chatra_bridge_failures_total{type="not_found"} 2.0',
        "chatra_bridge_inbox_depth 0.0",
        "chatra_bridge_held_replies 0.0",
    ):
        assert line in text
    posts = re.search(r'events_out_total\{call="chat.postMessage",target="slack"\} (\d+)', text)
    assert posts and int(posts[1]) == len(slack.messages)


async def test_a_restart_keeps_to_the_channels_pace(bridge, slack):
    """Slack counts posts per channel whatever restarts the bridge: the budget a bridge used
    is still used after its restart, so a burst then earns no 429."""
    slack.post_limit = (5, 1.0)  # Slack's, a little over the bridge's own (4, 1/s)

    async def two_chats(first: int) -> None:
        for n in range(first, first + 2):
            said = [visitor_says(f"m{n}", f"hello {n}")]
            await bridge.webhook(chat_event("chatStarted", f"c-{n}", said, name=f"V{n}"))
        await bridge.settled(within=15)

    await two_chats(1)  # 4 posts: the bridge's whole burst
    await bridge.restart()
    await two_chats(3)

    assert len(slack.parents(CHANNEL)) == 4 and slack.rate_limited == 0


def what_the_disk_holds(path: Path, synced: int, disk: Path) -> Path:
    """The database as a power cut leaves it: its file, and its log up to the last sync (the
    later commits did not wait for the disk). WAL mode: the file changes only at checkpoints."""
    disk.mkdir()
    shutil.copy(path, disk / path.name)
    with open(f"{path}-wal", "rb") as log, open(disk / f"{path.name}-wal", "wb") as kept:
        kept.write(log.read(synced))
    return disk


def power_comes_back(path: Path, disk: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(disk / path.name, path)
    shutil.copy(disk / f"{path.name}-wal", f"{path}-wal")


@pytest.mark.sqlite_only  # PostgreSQL waits for the disk at every commit
@pytest.mark.parametrize("echo_first", [False, True], ids=["echo-after", "echo-before"])
async def test_a_power_cut_right_after_a_reply_went_out_sends_it_once(
    settings, slack, membrane, tmp_path, monkeypatch, echo_first
):
    """SQLite writes a reply's sending mark without waiting for the disk: a power cut loses it.
    After the reboot the reply is settled by Chatra's echo, whether the echo comes before or
    after the bridge takes the reply up again: the visitor gets it once."""
    patient = settings.model_copy(update={"chatra_echo_grace": 5.0})
    app = await RunningApp(patient).start()
    thread_ts = (await start_chat(app, slack, name="Jo")).ts
    db, path = app.app[DATABASE], Path(settings.database())
    synced: list[int] = []  # the log's length at each commit that waited for the disk
    told = db.observe
    db.observe = lambda name, waited, ran: (  # on the writer's thread, right after the commit
        synced.append(Path(f"{path}-wal").stat().st_size) if name == "Intake.store" else None,
        told(name, waited, ran),
    )
    await app.slack_event(reply(thread_ts, "1800000040.000001", "On its way"), event_id())
    [sent] = await wait_for(lambda: list(membrane.messages.values()), within=5)
    await asyncio.sleep(0.2)  # the bridge records the send, and maybe more, unsynced
    disk = await asyncio.to_thread(what_the_disk_holds, path, synced[-1], tmp_path / "disk")
    await app.close()
    await asyncio.to_thread(power_comes_back, path, disk)
    monkeypatch.setattr(storage.facts, "BOOT_ID", tmp_path / "boot_id")
    (tmp_path / "boot_id").write_text("a-new-boot-of-the-machine")  # the machine came back

    echo = {"type": "agent", "text": sent["text"], "receivedFrom": sent["receivedFrom"]}
    echo |= {"agentId": sent["agentId"], "createdAt": sent["createdAt"]}
    fragment = chat_event("chatFragment", messages=[echo], name="Jo")
    app = await RunningApp(patient).start()
    try:
        if echo_first:
            await app.webhook(fragment)
        else:
            await asyncio.sleep(0.3)  # the reply is taken up again, and waits for the echo
            await app.webhook(fragment)
        await app.settled(within=15)
    finally:
        await app.close()
    assert [run["text"] for run in membrane.runs_of("send-agent-message")] == ["On its way"]
    assert not [m for m in slack.replies(CHANNEL, thread_ts) if "twice" in m.text]
