"""Block Kit builders: data in, Slack message (text + blocks) out. Pure functions."""

import json
from dataclasses import dataclass
from typing import Any

from bot.core.card import CardState
from bot.core.chatra_events import VISITOR_FIELDS, ChatraClient, ChatraMessage
from bot.core.health import Outage
from bot.core.text import (
    chatra_to_slack,
    plain_to_slack,
    shorten,
    split_text,
    without_control_characters,
)

VISITOR_ICON, AGENT_ICON = ":bust_in_silhouette:", ":headphones:"
CONTEXT_LIMIT = 2900  # characters in a context element's text (Slack allows 3,000)


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the notification / fallback text
    blocks: list[dict[str, Any]] | None = None
    username: str | None = None  # shown as the author (scope chat:write.customize)
    icon_emoji: str | None = None
    broadcast: bool = False  # a thread reply also shown in the channel


def mention(slack_id: str) -> str:
    """A person (U..., W...) or a user group (S...), as Slack notifies them."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def chat_link(client: ChatraClient, dashboard_url: str) -> str:
    """Where the chat lives in Chatra's dashboard (falls back to the dashboard itself)."""
    base = dashboard_url.rstrip("/")
    return f"{base}/chat/{client.chatId}" if client.chatId else base


def thread_link(channel: str, ts: str) -> str:
    """A link that opens a Slack thread (Slack's archive permalink form)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def visitor_card(
    client: ChatraClient,
    state: CardState,
    *,
    closed: bool,
    dashboard_url: str,
    summary: str | None = None,
) -> SlackMessage:
    name = plain_to_slack(client.display_name())
    owner, on_call, after_hours = state.owner, state.on_call, state.after_hours
    link = chat_link(client, dashboard_url)
    status = "Chat closed" if closed else "Chat open"
    fields = [f"*Email*\n{_value(client.email)}", f"*Phone*\n{_value(client.phone)}"]
    page = client.chatStartUrl
    if page:
        title = plain_to_slack(client.chatStartTitle or page)
        fields.append(f"*Page*\n<{page}|{title}>")
    else:
        fields.append("*Page*\n—")
    location = ", ".join(part for part in (client.city, client.country) if part)
    fields.append(f"*Location*\n{_value(location)}")

    icon = ":white_check_mark:" if closed else ":speech_balloon:"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(f"{icon} *{name}*  ·  {status}")},
        {"type": "section", "fields": [_mrkdwn(f) for f in fields]},
        _context(f"<{link}|Open the chat in Chatra>"),
    ]
    buttons = [
        *([] if owner or closed else [_button(CLAIM_BUTTON, "I'll take it", client.id)]),
        _button(DETAILS_BUTTON, "Visitor details", client.id),
        _button(EDIT_BUTTON, "Edit visitor", client.id),
        _button(PUSH_BUTTON, "Send pushed message", client.id),
        _button(DISCUSS_BUTTON, "Discuss internally", client.id),
    ]
    blocks.insert(2, {"type": "actions", "elements": buttons})
    if owner:
        blocks.insert(1, _context(f":raised_hand: Taken by <@{owner}>"))
    if on_call is not None:
        told = " ".join(map(mention, on_call))
        line = f":rotating_light: On call: {told}" if on_call else ":zzz: No one is on call"
        blocks.insert(1, _context(line))
    if after_hours:
        blocks.insert(1, _context(f":crescent_moon: {plain_to_slack(after_hours)}"))
    if state.previous:
        earlier = f":leftwards_arrow_with_hook: Follows <{state.previous}|an earlier chat>"
        blocks.insert(1, _context(earlier))
    if closed and summary:
        blocks.insert(1, _context(plain_to_slack(summary)))
    details = " · ".join(
        plain_to_slack(part) for part in (client.email, client.chatStartTitle or page) if part
    )
    verb = "Chat closed" if closed else "New chat" + (" after hours" if after_hours else "")
    text = f"{verb}: {name}" + (f" ({details})" if details else "")
    if on_call and not closed:  # in the notification text too, so they are notified
        text += " " + " ".join(map(mention, on_call))
    return SlackMessage(text=text, blocks=blocks)


def client_details(client: ChatraClient, *, dashboard_url: str, thread: str | None) -> SlackMessage:
    """Everything Chatra knows of a visitor, for /chatra lookup."""
    extra = client.model_extra or {}
    facts = {
        "Email": client.email,
        "Phone": client.phone,
        "Notes": client.notes,
        "Browser": " on ".join(str(extra[k]) for k in ("browser", "os") if extra.get(k)),
        "Location": ", ".join(part for part in (client.city, client.country) if part),
        "Visits": extra.get("visitsCount") or _count(extra.get("visits")),
        "Last visit": extra.get("lastVisit") or extra.get("lastSeen"),
        "Started on": client.chatStartUrl,
    }
    for group in ("info", "integrationData"):
        for key, value in (extra.get(group) or {}).items():
            facts[str(key)] = value
    fields = [_mrkdwn(f"*{label}*\n{plain_to_slack(str(v))}") for label, v in facts.items() if v]
    pages = _pages(extra.get("pages") or extra.get("visitedPages"))
    if pages:
        fields.append(_mrkdwn(f"*Pages*\n{pages}"))
    links = [f"<{chat_link(client, dashboard_url)}|Open in Chatra>"]
    if thread:
        links.append(f"<{thread}|Open the Slack thread>")
    name = plain_to_slack(client.display_name())
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(f":bust_in_silhouette: *{name}*")}
    ]
    for start in range(0, len(fields), 10):  # a section holds at most 10 fields
        blocks.append({"type": "section", "fields": fields[start : start + 10]})
    blocks.append(_context(" · ".join(links)))
    return SlackMessage(text=f"Visitor {name}", blocks=blocks)


def _count(visits: object) -> object:
    return len(visits) if isinstance(visits, list) else visits


def _pages(pages: object, shown: int = 5) -> str | None:
    """The last pages a visitor saw ([assumed] a list of URLs or of {url, title}), as links."""
    if not isinstance(pages, list) or not pages:
        return None
    links = []
    for page in pages[-shown:]:
        url, title = (
            (page.get("url"), page.get("title")) if isinstance(page, dict) else (page, None)
        )
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            links.append(f"<{url}|{plain_to_slack(str(title or url))[:80]}>")
    return "\n".join(links) or None


EDIT_VISITOR = "edit_visitor"
PUSH_MESSAGE = "push_message"
DETAILS_BUTTON, EDIT_BUTTON, PUSH_BUTTON = "visitor_details", "edit_visitor_open", "push_open"
CLAIM_BUTTON = "claim_chat"
DISCUSS_BUTTON = "discuss_internally"
EDIT_PUSHED, EDIT_PUSHED_BUTTON, DELETE_PUSHED_BUTTON = (
    "edit_pushed",
    "pushed_edit",
    "pushed_delete",
)
VISITOR_OF_MESSAGE = "visitor_of_message"  # the message shortcut


def modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (loading, or what went wrong)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title[:24]},
        "blocks": [{"type": "section", "text": _mrkdwn(text)}],
    }


def edit_visitor_modal(client_id: str, client: dict[str, Any]) -> dict[str, Any]:
    blocks = []
    for field, (label, _) in VISITOR_FIELDS.items():
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": field == "notes",
        }
        if client.get(field):
            element["initial_value"] = str(client[field])
        blocks.append(
            {
                "type": "input",
                "block_id": field,
                "optional": True,
                "element": element,
                "label": {"type": "plain_text", "text": label},
            }
        )
    return {
        "type": "modal",
        "callback_id": EDIT_VISITOR,
        # which fields had a value: one left empty on submit is cleared in Chatra
        "private_metadata": json.dumps(
            {"client": client_id, "had": [f for f in VISITOR_FIELDS if client.get(f)]}
        ),
        "title": {"type": "plain_text", "text": "Edit visitor"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def home_view(chats: list[str], health: list[str]) -> dict[str, Any]:
    """The App Home tab: health, then one line per open chat."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Chatra bridge"}},
        {"type": "section", "text": _mrkdwn("*Health*\n" + "\n".join(health))},
        {"type": "divider"},
        {"type": "section", "text": _mrkdwn(f"*Open chats* ({len(chats)})")},
    ]
    blocks += [{"type": "section", "text": _mrkdwn(line)} for line in chats]
    if not chats:
        blocks.append(_context("No open chats."))
    return {"type": "home", "blocks": blocks[:100]}


def mirrored_messages(message: ChatraMessage, *, author: str, is_agent: bool) -> list[SlackMessage]:
    """A Chatra message as thread replies: who wrote it, then the words (escaped for Slack),
    in as many replies as a long text needs."""
    pieces = [
        chatra_to_slack(piece) for piece in split_text(without_control_characters(message.body))
    ]
    files = message.shown_files()
    for file in files:
        link = f":paperclip: <{file.url}|{plain_to_slack(file.name or 'file')}>"
        pieces[-1] = f"{pieces[-1]}\n{link}" if pieces[-1] else link
    if message.type not in ("client", "agent"):  # a system notice: a quiet context line
        return [_context_line(piece) for piece in pieces]
    # The thread reads like the chat: each message under its author's name.
    author = f"{author} (Chatra)" if is_agent else author
    as_author = {"username": author, "icon_emoji": AGENT_ICON if is_agent else VISITOR_ICON}
    replies = [SlackMessage(text=piece, **as_author) for piece in pieces]
    for file in files:
        if file.is_image():  # shown, not only linked
            name = file.name or "image"
            picture = {"type": "image", "image_url": file.url, "alt_text": name}
            text = f"{plain_to_slack(author)} sent an image: {plain_to_slack(name)}"
            replies.append(SlackMessage(text=text, blocks=[picture], **as_author))
    return replies


def _context_line(text: str) -> SlackMessage:
    if len(text) > CONTEXT_LIMIT:  # too long for a context element: plain text instead
        return SlackMessage(text=text)
    return SlackMessage(text=text, blocks=[_context(f"_{text}_")])


RETRY_ACTION = "retry_reply"


def delivery_warning(
    what: str, quoted: str, reason: str, retry_ts: str | None = None
) -> SlackMessage:
    """A short notice in the thread naming what did not reach the visitor, and why; with a
    "Try again" button when the reply at `retry_ts` can be sent again."""
    text = (
        f":warning: {what} did not reach the visitor: “{plain_to_slack(shorten(quoted))}”. {reason}"
    )
    if retry_ts is None:
        return SlackMessage(text=text)
    button = _button(RETRY_ACTION, "Try again", retry_ts)
    blocks = [{"type": "section", "text": _mrkdwn(text)}, {"type": "actions", "elements": [button]}]
    return SlackMessage(text=text, blocks=blocks)


def recovered_notice(outage: Outage) -> SlackMessage:
    """One line when Slack or Membrane is back: how long it was gone, what waited."""
    name = {"slack": "Slack", "membrane": "Membrane"}.get(outage.service, outage.service)
    lasted = how_long((outage.until or outage.since) - outage.since)
    count = len(outage.delayed)
    waited = (
        "1 message waited for it and is"
        if count == 1
        else f"{count:,} messages waited for it and are"
    )
    text = (
        f":white_check_mark: {name} is back after {lasted} ({plain_to_slack(outage.reason)}):"
        f" {waited} on the way, in order."
    )
    return SlackMessage(text=text)


def maybe_twice_notice(quoted: str) -> SlackMessage:
    text = (
        f":twisted_rightwards_arrows: Chatra did not confirm “{plain_to_slack(shorten(quoted))}”,"
        " so it was sent again: the visitor may see it twice."
    )
    return SlackMessage(text=text, blocks=[_context(text)])


def outage_notice(reason: str) -> SlackMessage:
    text = (
        f":electric_plug: {plain_to_slack(reason)}. Replies to visitors are held and will be sent,"
        " in order, as soon as it is back."
    )
    return SlackMessage(text=text)


def outage_over_notice() -> SlackMessage:
    return SlackMessage(
        text=":white_check_mark: Chatra is reachable again: sending the held replies."
    )


def failed_events_notice(count: int, last_error: str | None) -> SlackMessage:
    """Events the bridge could not carry out: said in the channel, at most once an hour."""
    what = "1 event" if count == 1 else f"{count:,} events"
    why = f" (last: {plain_to_slack(shorten(last_error, 200))})" if last_error else ""
    text = (
        f":warning: {what} from Chatra or Slack could not be carried out{why}. An operator can"
        " list them with `chatra-bridge db failed` and replay them with"
        " `chatra-bridge db retry --all`."
    )
    return SlackMessage(text=text)


def how_long(seconds: float) -> str:
    """A wait as a person says it: seconds below a minute, whole minutes above."""
    return f"{seconds:.0f} s" if seconds < 59.5 else f"{seconds / 60:.0f} min"


def nudge_notice(name: str, seconds: float) -> SlackMessage:
    return SlackMessage(
        text=f":hourglass: {plain_to_slack(name)} has waited {how_long(seconds)} for an answer."
    )


def escalation_notice(name: str, seconds: float, on_call: list[str]) -> SlackMessage:
    """Broadcast to the channel from the thread: everyone sees the chat needs someone."""
    told = " ".join(map(mention, on_call)) or "No one is on call:"
    text = (
        f":rotating_light: {told} {plain_to_slack(name)} has waited {how_long(seconds)}"
        " without an answer."
    )
    return SlackMessage(text=text, broadcast=True)


def escalation_dm(name: str, seconds: float, link: str) -> SlackMessage:
    who = f"<{link}|{plain_to_slack(name)}>"
    return SlackMessage(
        text=f":rotating_light: {who} has waited {how_long(seconds)} for an answer."
    )


def internal_discussion(name: str, chat_thread: str) -> SlackMessage:
    """The top of a thread about a chat that stays among the team."""
    who = f"<{chat_thread}|{plain_to_slack(name)}>"
    text = (
        f":lock: Internal discussion about the chat with {who}. Replies here stay in Slack and"
        " never reach the visitor."
    )
    return SlackMessage(text=text)


def internal_discussion_link(link: str) -> SlackMessage:
    text = f":lock: <{link}|Internal discussion> of this chat: what is said there stays in Slack."
    return SlackMessage(text=text, blocks=[_context(text)])


def writing_as_notice(person: str, agent: str) -> SlackMessage:
    text = (
        f":information_source: {plain_to_slack(person)} has no Chatra agent linked, so the visitor"
        f" sees their replies as {plain_to_slack(agent)}."
    )
    return SlackMessage(text=text, blocks=[_context(text)])


def retrying_notice(quoted: str, user_name: str) -> SlackMessage:
    who, what = plain_to_slack(user_name), plain_to_slack(shorten(quoted))
    text = f":arrows_counterclockwise: Trying again, as {who} asked: “{what}”"
    return SlackMessage(text=text, blocks=[_context(text)])


def pushed_sent(message_id: str, client_id: str) -> SlackMessage:
    text = f":incoming_envelope: Pushed message `{message_id}` sent to `{client_id}`."
    delete = _button(DELETE_PUSHED_BUTTON, "Delete", message_id)
    delete["style"] = "danger"
    delete["confirm"] = {
        "title": {"type": "plain_text", "text": "Delete the pushed message?"},
        "text": {"type": "plain_text", "text": "The visitor will no longer see it."},
        "confirm": {"type": "plain_text", "text": "Delete"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    buttons = [_button(EDIT_PUSHED_BUTTON, "Edit", message_id), delete]
    blocks = [{"type": "section", "text": _mrkdwn(text)}, {"type": "actions", "elements": buttons}]
    return SlackMessage(text=text, blocks=blocks)


def push_modal(client_id: str, *, message_id: str = "", text: str = "") -> dict[str, Any]:
    """The form for a new pushed message to `client_id`, or to edit `message_id`."""
    text_input = {"type": "plain_text_input", "action_id": "value", "multiline": True}
    if text:
        text_input["initial_value"] = text
    return {
        "type": "modal",
        "callback_id": EDIT_PUSHED if message_id else PUSH_MESSAGE,
        "private_metadata": message_id or client_id,
        "title": {"type": "plain_text", "text": "Pushed message"},
        "submit": {"type": "plain_text", "text": "Save" if message_id else "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "text",
                "element": text_input,
                "label": {"type": "plain_text", "text": "Message to the visitor"},
            }
        ],
    }


def _button(action_id: str, label: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def _value(value: str | None) -> str:
    return plain_to_slack(value) if value else "—"


def _context(text: str) -> dict[str, Any]:
    """A quiet grey line of mrkdwn."""
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}
