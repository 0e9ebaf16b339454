"""Real payloads, captured from real workspaces by others (../shared/samples, see its
PROVENANCE.md), replayed with our ids: what breaks the bridge when Slack or Chatra sends them so."""

import copy
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.slack_wire import BOT_USER_ID
from tests.conftest import CHANNEL
from tests.helpers import (
    RunningApp,
    answered_as_its_card_lands,
    chat_event,
    event_id,
    start_chat,
    visitor_says,
)

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def sample(name: str) -> Any:
    if not SAMPLES.is_dir():
        pytest.skip(f"the real payloads are not beside the repository ({SAMPLES})")
    return json.loads((SAMPLES / name).read_text())


def placed(event: dict[str, Any], thread_ts: str, ts: str, user: str = "U0AGENT01") -> dict:
    """A sample event in the support channel, in the thread at `thread_ts`, by `user`."""
    event = copy.deepcopy(event)
    event.update(channel=CHANNEL, user=user, ts=ts, thread_ts=thread_ts, event_ts=ts)
    return event


async def test_a_files_caption_edited_keeps_the_file_and_a_delete_removes_it(
    settings, slack, membrane
):
    app = await RunningApp(settings.model_copy(update={"public_url": "https://b.test"})).start()
    try:
        card = (await start_chat(app, slack)).ts
        shared = sample("slack_event_file_share.json")["event"]
        ours = slack.share_file("F04EEHX1EES", "namenamename.txt", b"hug a kitten", "text/plain")
        shared["files"][0].update({k: ours[k] for k in ("url_private", "url_private_download")})
        ts = "1800000020.000100"
        reply = placed(shared, card, ts, user="U0AGENT01")
        await app.slack_event({**reply, "text": "The invoice"}, event_id())
        await app.settled()
        [first] = membrane.visible_messages("client-1")
        assert first.startswith("The invoice\n📎 namenamename.txt (https://b.test/files/")
        link = first.split("(")[1].rstrip(")").removeprefix("https://b.test")

        edit = sample("slack_rtm_message_changed_edit.json")
        edit.update(channel=CHANNEL, ts=ts)
        for version, text in (
            ("message", "The invoice, paid"),
            ("previous_message", "The invoice"),
        ):
            edit[version].update(ts=ts, thread_ts=card, parent_user_id=BOT_USER_ID, text=text)
            edit[version].update(user="U0AGENT01", files=reply["files"], subtype="file_share")
        await app.slack_event(edit, event_id())
        await app.settled()
        [edited] = membrane.visible_messages("client-1")
        assert edited == first.replace("The invoice", "The invoice, paid")  # the file stays

        deleted = sample("slack_event_message_deleted.json")["event"]
        deleted.update(channel=CHANNEL, deleted_ts=ts)
        deleted["previous_message"].update(
            ts=ts, thread_ts=card, user="U0AGENT01", parent_user_id=BOT_USER_ID
        )
        await app.slack_event(deleted, event_id())
        await app.settled()
        assert membrane.visible_messages("client-1") == []
        async with aiohttp.ClientSession() as http, http.get(app.url + link) as gone:
            assert gone.status == 404  # the file went with the reply
    finally:
        await app.close()


async def test_a_broadcast_reply_under_a_card_not_yet_recorded_is_asked_for_again(
    bridge, slack, membrane
):
    """Real `thread_broadcast` replies name their thread's first message in `root` and carry
    no `parent_user_id`: under a card whose thread is being recorded, such a reply is kept (503:
    Slack sends it again), as a plain reply is."""
    broadcast = sample("slack_event_thread_broadcast.json")["event"]

    def answered(card: str) -> dict:
        event = placed(broadcast, card, "1800000020.000200", user="U0AGENT01")
        event["root"].update(user=BOT_USER_ID, ts=card, thread_ts=card)
        return event

    card = await answered_as_its_card_lands(bridge, slack, answered, "EvBROADCAST1")
    again = answered(card)
    status, _ = await bridge.slack_event(again, "EvBROADCAST1", retry_num=1)
    assert status == 200
    await bridge.settled()
    assert membrane.visible_messages("client-1") == ["Hi there!"]


async def test_a_transcript_repeating_a_message_without_id_at_another_time_posts_it_once(
    bridge, slack
):
    said = sample("chatra_webhook_support20_client.json")["messages"][0]  # no id, no createdAt
    first = {**said, "createdAt": 1_800_000_000_000}
    again = visitor_says("m2", "Still there?")
    await bridge.webhook(chat_event("chatStarted", "support20", [first], name="Pat"))
    await bridge.webhook(chat_event("chatFragment", "support20", [again], name="Pat"))
    await bridge.settled()
    for moved in ({**said, "createdAt": 1_800_000_004_000}, said):  # another time, or none
        transcript = chat_event("chatTranscript", "support20", [moved, again], name="Pat")
        await bridge.webhook(transcript)
        await bridge.settled()
    card = slack.parents(CHANNEL)[0]
    assert slack.chat(CHANNEL, card.ts) == [said["text"], "Still there?"]
