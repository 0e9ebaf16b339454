"""Slack mrkdwn -> the plain text a visitor reads, and visitor text -> safe Slack text."""

from hypothesis import given
from hypothesis import strategies as st

from bot.core.wire.text import (
    chatra_to_slack,
    cut,
    looks_like_an_agent,
    plain_to_slack,
    shorten,
    shown_name,
    slack_to_plain,
    split_text,
    user_ids_in,
    without_control_characters,
)

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


def test_emoji_shortcodes_become_the_emoji_slack_showed():
    assert slack_to_plain("thanks :smile: :+1::skin-tone-3: :no_such_emoji:", {}) == (
        "thanks 😄 👍🏼 :no_such_emoji:"
    )
    assert slack_to_plain("<https://x.io/a:b:c|see :b:>", {}) == "see 🅱️ (https://x.io/a:b:c)"


def test_mentioned_user_ids_are_found():
    assert user_ids_in("<@U1> <@U2|kim> <#C1> <@U1>") == {"U1", "U2"}


def test_shorten_keeps_one_line_within_limit():
    assert shorten("a\nb   c") == "a b c"
    long = shorten("word " * 100, limit=20)
    assert len(long) <= 20 and long.endswith("…")


@given(st.text(alphabet=st.characters(blacklist_characters=":")))
def test_visitor_text_round_trips_through_slack_escaping(text):
    """What a visitor typed, escaped for Slack, reads back exactly as typed."""
    escaped = plain_to_slack(text)
    assert "<" not in escaped and ">" not in escaped
    assert slack_to_plain(escaped, {}) == text


@given(st.text(alphabet=st.characters(blacklist_characters="<>&:")))
def test_text_without_markup_is_unchanged(text):
    assert slack_to_plain(text, NAMES) == text


@given(st.text(), st.integers(min_value=2, max_value=50))
def test_split_pieces_fit_and_join_back_exactly(text, limit):
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(0 < len(piece) <= limit for piece in pieces) or pieces == [""]


@given(
    st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=8), min_size=1), st.integers(8, 40)
)
def test_split_never_breaks_a_word_that_fits(words, limit):
    text = " ".join(words)
    pieces = split_text(text, limit)
    assert [w for piece in pieces for w in piece.split()] == words


def test_split_keeps_emoji_sequences_and_flags_whole():
    family, flag, thumb = "👨\u200d👩\u200d👧", "🇩🇪", "👍🏽"
    text = "x" * 7 + family + flag + thumb + "e\u0301"  # e + combining acute
    for limit in range(len(family), len(text)):  # a limit no shorter than one emoji
        for piece in split_text(text, limit):
            assert not piece.startswith(("\u200d", "\U0001f3fd", "\u0301", "🇪"))
            assert not piece.endswith("\u200d")


def test_control_characters_are_dropped_but_lines_kept():
    assert without_control_characters("a\x00b\x07c\nd\te") == "abc\nd\te"


def test_chatra_markdown_shows_as_slack_formatting():
    assert chatra_to_slack("**bold** __also__ ~~gone~~ *as is* _as is_") == (
        "*bold* _also_ ~gone~ *as is* _as is_"
    )
    assert chatra_to_slack("see [the guide](https://x.io/a?b=1&c=2) now") == (
        "see <https://x.io/a?b=1&amp;c=2|the guide> (x.io) now"
    )


def test_chatra_text_ugly_cases():
    # nested formatting, and a snake_case word that is not italics
    assert chatra_to_slack("**very _nested_ ~~text~~**") == "*very _nested_ ~text~*"
    assert chatra_to_slack("my__file__name and 2**10") == "my__file__name and 2**10"
    # < and & never become Slack syntax: no ping, no link, no entity
    assert chatra_to_slack("<!channel> a<b && c>d &amp;") == (
        "&lt;!channel&gt; a&lt;b &amp;&amp; c&gt;d &amp;amp;"
    )
    assert chatra_to_slack("[x](javascript:alert(1))") == "[x](javascript:alert(1))"
    # code is kept exactly as written (only escaped)
    assert chatra_to_slack("run `a **b** <c>` and\n```\n**x** & y\n```") == (
        "run `a **b** &lt;c&gt;` and\n```\n**x** &amp; y\n```"
    )
    # 4-byte emoji pass through untouched
    assert chatra_to_slack("🚚 **on its way 👍🏽**") == "🚚 *on its way 👍🏽*"


def test_slack_formatting_reaches_the_visitor_as_readable_plain_text():
    text = "*bold* _it_ ~st~ `x &lt; y` *_both_* &gt; quoted\n```a &amp;&amp; b```"
    assert slack_to_plain(text, {}) == "*bold* _it_ ~st~ `x < y` *_both_* > quoted\n```a && b```"
    assert slack_to_plain("4-byte 😀 :grinning: \U0001d54f", {}) == "4-byte 😀 😀 \U0001d54f"


def test_a_10k_character_message_splits_cleanly_both_ways():
    words = "".join(f"{'ab' * (n % 7 + 1)}😀 " for n in range(900))  # 4-byte emoji everywhere
    link = " https://example.org/" + "x" * 60 + " "
    text = (words + link) * 2
    assert len(text) > 10_000
    for limit in (3500, 5000):
        pieces = split_text(text, limit)
        assert "".join(pieces) == text and all(len(p) <= limit for p in pieces)
        assert all(p.endswith(" ") for p in pieces[:-1])  # never inside a word, emoji or link
    assert "".join(chatra_to_slack(p) for p in split_text(text)) == chatra_to_slack(text)


def test_a_markdown_link_shows_the_host_a_browser_really_opens():
    cases = {
        # browsers read a backslash as a slash: this opens evil.example, whatever follows
        "[Open your invoice](https://evil.example\\@paypal.com/)": (
            "<https://evil.example/@paypal.com/|Open your invoice> (evil.example)"
        ),
        "[PayPal](https://paypal.com@evil.example/login)": (
            "<https://paypal.com@evil.example/login|PayPal> (evil.example)"
        ),
        "[paypal.com](https://%70aypal.com%2eevil.example/)": (
            "<https://%70aypal.com%2eevil.example/|paypal.com> (paypal.com.evil.example)"
        ),
        "[paypal.com](https://p\u0430ypal.com/)": (  # a Cyrillic a
            "<https://p\u0430ypal.com/|paypal.com> (xn--pypal-4ve.com)"
        ),
        "[docs](https://x.io/a?q=a\\b)": "<https://x.io/a?q=a%5Cb|docs> (x.io)",
    }
    for markdown, shown in cases.items():
        assert chatra_to_slack(markdown) == shown, markdown


def test_a_name_from_outside_shows_as_one_short_line_without_tricks():
    assert shown_name("Ana\u202e (Chatra)\u200b\n\tx\x07") == "Ana (Chatra) x"
    assert (
        shown_name("👨\u200d👩\u200d👧 family") == "👨\u200d👩\u200d👧 family"
    )  # the joiner stays
    assert shown_name("N" * 500) == "N" * 59 + "…"
    wide, cyrillic = "\uff33am (\uff23hatra)", "Ana (\u0421hatra)"
    for name in ("Sam (Chatra)", "sam [CHATRA]", wide, cyrillic, "Bob Chatra"):
        assert looks_like_an_agent(name), name
    for name in ("Jane Doe", "José Müller", "Иван Петров", "Αλέξης"):
        assert not looks_like_an_agent(name), name


def test_cut_never_splits_an_escape_or_an_emoji():
    assert cut("short", 10) == "short"
    assert cut("a &amp; b &amp; c", 9) == "a &amp; …"
    assert cut("ab👍🏽cd", 4) == "ab…"
