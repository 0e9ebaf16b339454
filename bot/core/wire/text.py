"""Text between Slack mrkdwn and the plain text a Chatra visitor reads: pure functions."""

import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import quote, unquote, urlsplit

import emoji

_ENTITY = re.compile(r"<([^<>]*)>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SLACK_CHUNK = 3500  # characters of plain text per Slack message: readable, far below Slack's 40k
# Chatra documents 1-5,000 characters for a pushed message; agent messages are held to the same.
CHATRA_TEXT_LIMIT = 5000
_SKIN_TONE = re.compile(r":skin-tone-([2-6]):")
NAME_LIMIT = 60  # characters of a visitor's or agent's name as shown: a username holds 80
LINK_LIMIT = 2000  # characters of a URL shown as a link; a longer one shows its label alone
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")  # an escape (`&amp;`) cut in two
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def slack_to_plain(text: str, user_names: Mapping[str, str]) -> str:
    """Turn Slack mrkdwn into readable plain text.

    `<@U1>` -> `@Name` (from `user_names`), `<#C1|general>` -> `#general`, `<url|label>` ->
    `label (url)`, `<mailto:a@b|a@b>` -> `a@b`, `<!here>` -> `@here`; then `&lt; &gt; &amp;` are
    unescaped (last, so an escaped `&lt;@U1&gt;` typed by a person stays literal). Emoji
    shortcodes outside those (`:smile:`, `:+1::skin-tone-3:`) become the emoji Slack showed.
    """

    def entity(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            user_id = target[1:]
            return "@" + (user_names.get(user_id) or label or user_id)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            keyword = target[1:].split("^")[0]
            return _SPECIAL.get(keyword, label or keyword)
        url = target.removeprefix("mailto:")
        if not label or label in (url, target):
            return url
        return f"{_emoji(label)} ({url})"

    pieces, position = [], 0
    for match in _ENTITY.finditer(text):  # shortcodes only between entities: never inside a URL
        pieces += [_emoji(text[position : match.start()]), entity(match)]
        position = match.end()
    plain = "".join([*pieces, _emoji(text[position:])])
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _emoji(text: str) -> str:
    if ":" not in text:
        return text
    text = _SKIN_TONE.sub(lambda m: chr(0x1F3FB + int(m.group(1)) - 2), text)
    return emoji.emojize(text, language="alias")


_PERSON = r"<@(?P<person>[A-Z0-9]+)(?:\|[^>]*)?>"  # a person, as Slack's mrkdwn mentions one
MENTION = re.compile(_PERSON)
# Whom a message notifies: a person, a user group, or everyone (@here, @channel, @everyone).
NOTIFIES = re.compile(
    _PERSON
    + r"|<!subteam\^(?P<group>[A-Z0-9]+)(?:\|(?P<handle>[^>]*))?>"
    + r"|<!(?P<everyone>here|channel|everyone)(?:\|[^>]*)?>"
)


def user_ids_in(text: str) -> set[str]:
    """The Slack user ids mentioned in mrkdwn, so their names can be looked up first."""
    return {m.group(1) for m in MENTION.finditer(text)}


def plain_to_slack(text: str) -> str:
    """Escape plain text for Slack: a visitor typing `<!here>` must not notify anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_UNSAFE_IN_URL = re.compile(r"[<>|\s\"'\\\x00-\x1f\x7f]")


def safe_url(url: str) -> str | None:
    """An http(s) URL as it may stand inside `<...|...>`: nothing in it can end the link early
    (`|`, `>`) or start another (`<`); None for anything that is not http(s). A backslash
    before the query is a slash, as browsers read it: `https://a.example\\@b.example/` opens
    a.example, and is shown so."""
    url = url.strip()
    if not re.match(r"(?i)https?:[/\\]{2}[^/\\\s]", url):
        return None
    query = re.search(r"[?#]", url)
    before = url[: query.start()] if query else url
    url = before.replace("\\", "/") + url[len(before) :]
    escaped = _UNSAFE_IN_URL.sub(lambda found: quote(found[0]), url)
    return escaped.replace("&", "&amp;")


def slack_link(url: str, label: str) -> str:
    """`<url|label>` that a visitor's URL or label cannot break out of; the label alone (escaped)
    when the URL is no http(s) URL, or too long to be one."""
    safe = safe_url(url)
    if safe is None or len(safe) > LINK_LIMIT:
        return plain_to_slack(label)
    return f"<{safe}|{plain_to_slack(label)}>"


def cut(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, ending in … when it had more; never cut inside
    an emoji or an escape (`&amp;`)."""
    if len(text) <= limit:
        return text
    end = limit - 1
    while end > 1 and _inside_a_character(text, end):
        end -= 1
    return _PARTIAL_ENTITY.sub("", text[:end]) + "…"


_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown_name(name: str) -> str:
    """A name someone outside chose (a visitor's, an agent's from Chatra) as it is shown: no
    control, direction-changing or invisible characters (the zero-width joiner of an emoji
    stays), one line, at most NAME_LIMIT characters."""
    visible = "".join(
        ch
        for ch in " ".join(_BIDI.sub("", name).split())
        if ch == "\u200d" or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    return cut(" ".join(visible.split()), NAME_LIMIT)


_AGENT_WORD = "chatra"  # agents' names are shown as "Ana (Chatra)"


def looks_like_an_agent(name: str) -> bool:
    """Whether a visitor's name could pass for an agent's: it says Chatra (in any case, spacing
    or compatibility form), or mixes Latin with look-alike Cyrillic or Greek letters."""
    letters = [ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalpha()]
    if _AGENT_WORD in "".join(letters):
        return True
    scripts = {unicodedata.name(ch, "?").split(" ")[0] for ch in letters}
    return "LATIN" in scripts and bool(scripts & {"CYRILLIC", "GREEK"})


_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
_MARKDOWN = [  # Markdown habits (visitors, Chatra's dashboard) -> what Slack shows the same way
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"*\1*"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), r"_\1_"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"~\1~"),
    # [label](url) -> the link, with its real host next to it: a label cannot pass one site off
    # as another.
    (re.compile(r"\[([^\[\]|\n]+)\]\((https?://[^\s()|]+)\)"), lambda link: _shown(*link.groups())),
]


def _shown(label: str, escaped_url: str) -> str:
    """A Markdown link of a visitor's or agent's, with the host it really opens next to it."""
    url = escaped_url.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    safe = safe_url(url)
    if safe is None or len(safe) > LINK_LIMIT:
        return f"{label} ({escaped_url})"
    host = shown_host(safe)
    return f"<{safe}|{label}>" + (f" ({host})" if host and host not in label else "")


def shown_host(safe: str) -> str:
    """The host a browser opens for `safe` (a URL from `safe_url`, so with no backslash, space
    or quote left in it to be read another way): percent-escapes decoded, lower case, and an
    international name as its xn-- form, so a look-alike cannot pass for the real one."""
    host = unquote(urlsplit(safe.replace("&amp;", "&")).hostname or "").lower()
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host


def chatra_to_slack(text: str) -> str:
    """Chatra text as Slack mrkdwn: escaped so nothing in it can ping or link by surprise, with
    Markdown's `**bold**`, `__bold__`, `~~strike~~` and `[label](url)` shown as Slack shows them.
    Code (`` `...` `` and ```` ```...``` ````) is left exactly as written."""
    pieces, position = [], 0
    for code in _CODE.finditer(text):
        pieces += [_markdown_to_mrkdwn(text[position : code.start()]), plain_to_slack(code[0])]
        position = code.end()
    return "".join([*pieces, _markdown_to_mrkdwn(text[position:])])


def _markdown_to_mrkdwn(text: str) -> str:
    text = plain_to_slack(text)
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return text


def shorten(text: str, limit: int = 80) -> str:
    """One line of at most `limit` characters, for quoting a message in a notice."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def without_control_characters(text: str) -> str:
    """Drop NUL and other control characters (tabs and newlines stay): they show as garbage."""
    return _CONTROL.sub("", text)


def split_text(text: str, limit: int = SLACK_CHUNK) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters that join back to `text` exactly.

    Cuts fall after whitespace, so no word or link is broken; a single run longer than `limit`
    is cut where no character sequence (emoji with modifiers, accents) would be split.
    """
    pieces = []
    while len(text) > limit:
        cut = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit)) + 1
        if cut <= 0:
            cut = limit
            while cut > 1 and _inside_a_character(text, cut):
                cut -= 1
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text] if text or not pieces else pieces


def _inside_a_character(text: str, cut: int) -> bool:
    """Would cutting before `text[cut]` split what a reader sees as one character?"""
    char, before = text[cut], text[cut - 1]
    code = ord(char)
    return (
        unicodedata.combining(char) > 0
        or char in "\u200d\ufe0e\ufe0f"  # joiner, variation selectors
        or before == "\u200d"
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
        or (0x1F1E6 <= code <= 0x1F1FF and 0x1F1E6 <= ord(before) <= 0x1F1FF)  # flag pairs
    )
