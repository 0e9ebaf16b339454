"""Slack mrkdwn -> the plain text a visitor reads, and visitor text -> safe Slack text."""

from hypothesis import given
from hypothesis import strategies as st

from bot.text import plain_to_slack, shorten, slack_to_plain, user_ids_in

NAMES = {"U1": "Sam", "U2": "Kim Lee"}


def test_user_mentions_become_names():
    assert slack_to_plain("thanks <@U1> and <@U2>", NAMES) == "thanks @Sam and @Kim Lee"


def test_unknown_user_falls_back_to_label_then_id():
    assert slack_to_plain("<@U9|old> <@U8>", NAMES) == "@old @U8"


def test_links_show_label_and_url():
    assert slack_to_plain("see <https://x.io/a?b=1&amp;c=2|the guide>", {}) == (
        "see the guide (https://x.io/a?b=1&c=2)"
    )
    assert slack_to_plain("<https://x.io>", {}) == "https://x.io"
    assert slack_to_plain("<https://x.io|https://x.io>", {}) == "https://x.io"
    assert slack_to_plain("<mailto:a@b.io|a@b.io>", {}) == "a@b.io"


def test_channels_and_special_mentions():
    assert slack_to_plain("<#C123|orders> <!here> <!subteam^S1|@support>", {}) == (
        "#orders @here @support"
    )


def test_entities_are_unescaped_last():
    assert slack_to_plain("a &lt; b &amp;&amp; c &gt; d", {}) == "a < b && c > d"
    # a person who typed a literal "<@U1>" sees it as typed, not turned into a mention
    assert slack_to_plain("type &lt;@U1&gt;", NAMES) == "type <@U1>"
    assert slack_to_plain("&amp;lt;", {}) == "&lt;"


def test_mentioned_user_ids_are_found():
    assert user_ids_in("<@U1> <@U2|kim> <#C1> <@U1>") == {"U1", "U2"}


def test_shorten_keeps_one_line_within_limit():
    assert shorten("a\nb   c") == "a b c"
    long = shorten("word " * 100, limit=20)
    assert len(long) <= 20 and long.endswith("…")


@given(st.text())
def test_visitor_text_round_trips_through_slack_escaping(text):
    """What a visitor typed, escaped for Slack, reads back exactly as typed."""
    escaped = plain_to_slack(text)
    assert "<" not in escaped and ">" not in escaped
    assert slack_to_plain(escaped, {}) == text


@given(st.text(alphabet=st.characters(blacklist_characters="<>&")))
def test_text_without_markup_is_unchanged(text):
    assert slack_to_plain(text, NAMES) == text
