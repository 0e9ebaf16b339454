"""Text between Slack mrkdwn and the plain text a Chatra visitor reads: pure functions."""

import re
from collections.abc import Mapping

_ENTITY = re.compile(r"<([^<>]*)>")
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def slack_to_plain(text: str, user_names: Mapping[str, str]) -> str:
    """Turn Slack mrkdwn into readable plain text.

    `<@U1>` -> `@Name` (from `user_names`), `<#C1|general>` -> `#general`, `<url|label>` ->
    `label (url)`, `<mailto:a@b|a@b>` -> `a@b`, `<!here>` -> `@here`; then `&lt; &gt; &amp;` are
    unescaped (last, so an escaped `&lt;@U1&gt;` typed by a person stays literal).
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
        return f"{label} ({url})"

    plain = _ENTITY.sub(entity, text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def user_ids_in(text: str) -> set[str]:
    """The Slack user ids mentioned in mrkdwn, so their names can be looked up first."""
    return {m.group(1) for m in re.finditer(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", text)}


def plain_to_slack(text: str) -> str:
    """Escape plain text for Slack: a visitor typing `<!here>` must not notify anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int = 80) -> str:
    """One line of at most `limit` characters, for quoting a message in a notice."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
