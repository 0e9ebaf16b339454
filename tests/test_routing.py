"""CHANNEL_ROUTES: a new chat goes to the channel its first fitting rule names, its card says which
queue it came from, the people of every routed channel answer it, and `check` verifies each."""

import json
import time

import pytest

from bot.config import SettingsError, load_settings
from bot.core.posting.post_keys import is_card
from bot.core.rules.routes import Route
from bot.core.wire.chatra import ChatraClient
from bot.operating.check import run_checks
from tests.conftest import CHANNEL, FakeClock
from tests.helpers import (
    VALID,
    RunningApp,
    answer,
    chat_event,
    event_id,
    findings_by_check,
    reply,
    visitor_says,
    wait_for,
)

SALES, DACH, NIGHT = "C0SALES01", "C0DACH001", "C0NIGHT01"
RULES = [
    {"queue": "Sales", "page": "*/pricing*", "channel": SALES},
    {"queue": "DACH", "country": ["Germany", "Austria"], "language": "de", "channel": DACH},
]


def routes_file(tmp_path, rules: list[dict], **extra) -> str:
    path = tmp_path / "routes.json"
    path.write_text(json.dumps({"routes": rules, **extra}))
    return str(path)


@pytest.fixture
async def routed(settings, slack, tmp_path):
    slack.channels |= {SALES, DACH}
    routes = routes_file(tmp_path, RULES)
    app = await RunningApp(settings.model_copy(update={"channel_routes": routes})).start()
    yield app
    await app.close()


def queue_line(card) -> str:
    return next(str(block) for block in card.blocks if "Queue:" in str(block))


async def test_each_chat_goes_to_its_queues_channel_and_its_card_says_so(routed, slack, membrane):
    chats = [
        ("c-sales", "Sam", {"chatStartUrl": "https://shop.example.org/Pricing/team"}),
        ("c-dach", "Dora", {"country": "austria", "language": "de-AT"}),
        ("c-swiss", "Sven", {"country": "Switzerland", "language": "de"}),  # no rule: General
    ]
    for client_id, name, where in chats:
        said = [visitor_says(f"{client_id}-1", f"hello from {name}")]
        await routed.webhook(chat_event("chatStarted", client_id, said, name=name, **where))
    await routed.settled()

    for channel, name, queue in [(SALES, "Sam", "Sales"), (DACH, "Dora", "DACH")]:
        [card] = slack.parents(channel)
        assert name in card.text and f"Queue: *{queue}*" in queue_line(card)
        assert slack.chat(channel, card.ts) == [f"hello from {name}"]
    [card] = slack.parents(CHANNEL)
    assert "Sven" in card.text and "Queue: *General*" in queue_line(card)

    slack.members[CHANNEL] = slack.members[DACH] = {"U0AGENT03"}
    slack.members[SALES] = {"U0AGENT01"}  # in the sales channel alone: still of the team
    [sales_card] = slack.parents(SALES)
    answered = reply(sales_card.ts, "1800000001.000100", "Our plans", channel=SALES)
    await routed.slack_event(answered, event_id())
    await routed.settled()
    [sent] = membrane.runs_of("send-agent-message")
    assert sent["clientId"] == "c-sales" and sent["text"] == "Our plans"

    listed = await answer(routed, slack, "open", "U0AGENT01")
    assert all(name in listed for name in ("Sam", "Dora", "Sven"))
    refused = await answer(routed, slack, "open", "U0AGENT02")
    assert refused.endswith(
        f"Only the members of <#{CHANNEL}> or <#{SALES}> or <#{DACH}> act on Chatra visitors:"
        " ask to be added."
    )


async def test_chats_outside_business_hours_go_to_the_night_channel(settings, slack, tmp_path):
    slack.channels.add(NIGHT)
    hour = (time.gmtime().tm_hour + 3) % 24  # open for an hour, three hours from now
    rules = [{"queue": "Night", "after_hours": True, "channel": NIGHT}]
    night = settings.model_copy(
        update={
            "business_hours": f"mon-sun {hour:02d}:00-{hour:02d}:59",
            "channel_routes": routes_file(tmp_path, rules),
        }
    )
    app = await RunningApp(night).start()
    try:
        await app.webhook(chat_event("chatStarted", "c-late", [visitor_says("m", "hi")], name="Lu"))
        [card] = await wait_for(lambda: slack.parents(NIGHT))
    finally:
        await app.close()
    assert card.text.startswith("Lu: hi (New chat after hours") and slack.parents(CHANNEL) == []


def test_a_rule_fits_by_group_page_country_language_and_hour():
    client = ChatraClient(
        id="c",
        groupId="g-vip",
        chatStartUrl="https://shop.example.org/pricing?plan=team",
        country="Germany",
        language="de-DE",
    )
    fits = [
        ({"group": ["g-vip", "g-press"]}, True),
        ({"group": "g-other"}, False),
        ({"page": "*/pricing*"}, True),
        ({"page": "*/checkout*"}, False),
        ({"country": "GERMANY", "language": "de"}, True),
        ({"language": "de-AT"}, False),
        ({"country": "Germany", "after_hours": True}, False),  # all conditions must hold
        ({"after_hours": False}, True),
    ]
    for rule, expected in fits:
        route = Route(queue="Q", channel="C0Q", **rule)
        assert route.fits(client, after_hours=False) is expected, rule


def test_a_bad_routes_file_is_named_at_startup(tmp_path):
    for rules, said in [
        ([{"queue": "Q", "channel": "C0Q"}], "a route needs a group, page, country"),
        ([{"queue": "Q", "channel": "#sales", "page": "*"}], "routes.0.channel"),
        ([{"queue": "Q", "channel": "C0Q", "pages": "*"}], "routes.0.pages: Extra inputs"),
        ([{"queue": "Q", "channel": "C0Q", "after_hours": True}], "set BUSINESS_HOURS too"),
    ]:
        with pytest.raises(SettingsError) as error:
            load_settings(_env_file=None, **VALID, channel_routes=routes_file(tmp_path, rules))
        assert "CHANNEL_ROUTES:" in str(error.value) and said in str(error.value), rules


async def test_check_verifies_the_bot_is_in_every_routed_channel(settings, slack, tmp_path):
    slack.other_channels.add(SALES)
    with_routes = settings.model_copy(update={"channel_routes": routes_file(tmp_path, RULES[:1])})
    channels = [f for f in await run_checks(with_routes) if f.check == "Slack channel"]
    assert [(f.ok, f.detail) for f in channels] == [
        (True, f"the bot is in {CHANNEL}"),
        (False, f"the bot is not in {SALES}: /invite @Chatra there"),
    ]
    assert findings_by_check(await run_checks(settings))["Slack channel"][0] is True


async def test_a_visitor_waiting_in_a_routed_channel_is_escalated_there(settings, slack, tmp_path):
    slack.channels.add(SALES)
    clock = FakeClock()
    routed = settings.model_copy(
        update={
            "channel_routes": routes_file(tmp_path, RULES[:1]),
            "escalation_check_seconds": 0.05,
        }
    )
    app = await RunningApp(routed, clock).start()
    try:
        await app.slash_command("oncall <@U0AGENT01>")
        said = [visitor_says("m1", "how much?")]
        where = {"chatStartUrl": "https://shop.example.org/pricing"}
        await app.webhook(chat_event("chatStarted", "c-sales", said, name="Sam", **where))
        await app.settled()
        [card] = slack.parents(SALES)
        clock.advance(11)
        broadcast = await wait_for(
            lambda: [r for r in slack.replies(SALES, card.ts) if r.args.get("reply_broadcast")]
        )
        [dm] = await wait_for(lambda: slack.dms_to("U0AGENT01"))
    finally:
        await app.close()
    assert "Sam has waited" in broadcast[0].text and SALES in dm.text


async def test_a_routed_channel_the_bot_cannot_see_holds_up_no_other_chat(
    settings, slack, membrane, tmp_path
):
    """CHANNEL_ROUTES names a channel that does not exist: replies in the other chats still
    reach Chatra, its chats come to the support channel with a line saying why (the channel is
    told once, not per chat), and Slack is never taken for down."""
    routes = routes_file(tmp_path, RULES[:1])  # SALES is not among the fake's channels
    app = await RunningApp(settings.model_copy(update={"channel_routes": routes})).start()
    try:
        said = [visitor_says("g1", "hi")]
        await app.webhook(chat_event("chatStarted", "c-gen", said, name="Gil"))
        await app.settled()
        [general] = slack.parents(CHANNEL)
        await app.slack_event(reply(general.ts, "1800000002.000001", "Hello Gil"), event_id())
        await app.settled()
        assert [run["text"] for run in membrane.runs_of("send-agent-message")] == ["Hello Gil"]

        pricing = {"chatStartUrl": "https://shop.example.org/pricing"}
        for client_id, name in [("c-s1", "Sam"), ("c-s2", "Sue")]:
            said = [visitor_says(f"{client_id}-1", f"price? {name}")]
            await app.webhook(chat_event("chatStarted", client_id, said, name=name, **pricing))
        await app.settled(within=10)

        parents = slack.parents(CHANNEL)
        cards = {c.text.split(":")[0]: c for c in parents if any(map(is_card, c.keys))}
        assert set(cards) == {"Gil", "Sam", "Sue"}
        for name in ("Sam", "Sue"):
            line = queue_line(cards[name])
            assert "Queue: *Sales*" in line and f"<#{SALES}> refuses the bot's posts" in line
            assert slack.chat(CHANNEL, cards[name].ts) == [f"price? {name}"]
        [told] = [c for c in parents if "refuses the bot's posts" in c.text]
        assert f"`{SALES}`: channel_not_found" in told.text and "Sales queue" in told.text

        await app.slack_event(reply(cards["Sam"].ts, "1800000002.000002", "Plan A"), event_id())
        await app.settled()
        assert membrane.runs_of("send-agent-message")[-1]["text"] == "Plan A"

        status, health = await app.request("GET", "/healthz")
        assert status == 200 and health["down"] == {} and health["status"] == "degraded"
        assert health["channels"][SALES]["reason"] == "channel_not_found"
        assert not [m for m in slack.messages if "is back" in m.text]
    finally:
        await app.close()


async def test_a_page_address_of_half_a_megabyte_still_routes_and_shows_the_card(routed, slack):
    page = "https://shop.example.org/pricing/" + "x" * 500_000
    said = [visitor_says("big-1", "hi")]
    await routed.webhook(chat_event("chatStarted", "c-big", said, name="Bo", chatStartUrl=page))
    await routed.settled()

    [card] = slack.parents(SALES)
    assert card.text.startswith("Bo: hi (New chat") and "Queue: *Sales*" in queue_line(card)
    assert slack.chat(SALES, card.ts) == ["hi"]
