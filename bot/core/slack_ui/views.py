"""Block Kit builders: data in, Slack message (text + blocks) out. Pure functions."""

import json
import time
from typing import Any
from urllib.parse import quote

from bot.core.chats.chat import CardState, Chat, EarlierChats, OpeningLine
from bot.core.slack_ui.blocks import SlackMessage, button, context, mention, mrkdwn, value_or_dash
from bot.core.slack_ui.ids import (
    CLAIM_BUTTON,
    DELETE_PUSHED_BUTTON,
    DETAILS_BUTTON,
    DISCUSS_BUTTON,
    DONE_BUTTON,
    EDIT_BUTTON,
    EDIT_PUSHED,
    EDIT_PUSHED_BUTTON,
    EDIT_VISITOR,
    PUSH_BUTTON,
    PUSH_MESSAGE,
    REOPEN_BUTTON,
)
from bot.core.wire.chatra import VISITOR_FIELDS, ChatraClient
from bot.core.wire.text import cut, plain_to_slack, slack_link
from storage import Thread


def chat_link(client: ChatraClient, dashboard_url: str) -> str:
    """Where the chat lives in Chatra's dashboard (falls back to the dashboard itself)."""
    base = dashboard_url.rstrip("/")
    return f"{base}/chat/{quote(client.chatId, safe='')}" if client.chatId else base


def thread_link(channel: str, ts: str, workspace: str) -> str:
    """A link that opens a Slack thread: Slack's archive permalink under the workspace's own URL
    (auth.test's `url`), which opens in the app where slack.com would ask to sign in."""
    return f"{workspace.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


SHOWN_DETAIL = 300  # characters of a visitor's detail on the card (after escaping)
SHOWN_LINE = 2900  # characters of a context line (Slack takes 3,000)


def card_of(
    thread: Thread, dashboard_url: str, opening: list[OpeningLine] | None = None
) -> SlackMessage:
    """A chat's card as its thread says it is now; opening with `opening` when first posted."""
    chat = Chat.of(thread)
    state = chat.card if opening is None else chat.card.model_copy(update={"opening": opening})
    return visitor_card(chat.visitor, state, closed=chat.closed, dashboard_url=dashboard_url)


def visitor_card(
    client: ChatraClient, state: CardState, *, closed: bool, dashboard_url: str
) -> SlackMessage:
    """A chat's card. What the visitor set (name, contact, page, custom data) is cut to what
    Slack takes, so no visitor can keep their chat out of Slack."""
    name = plain_to_slack(client.display_name())
    owner, on_call, after_hours = state.owner, state.on_call, state.after_hours
    link = chat_link(client, dashboard_url)
    done = state.done_by is not None and not closed
    status = "Chat closed" if closed else "Done" if done else "Chat open"
    fields = [f"*Email*\n{_detail(client.email)}", f"*Phone*\n{_detail(client.phone)}"]
    page = client.chatStartUrl
    title = cut(client.chatStartTitle or page or "", 150)
    fields.append(f"*Page*\n{slack_link(page, title)}" if page else "*Page*\n—")
    location = ", ".join(cut(part, 100) for part in (client.city, client.country) if part)
    fields.append(f"*Location*\n{_detail(location)}")

    icon = ":white_check_mark:" if closed or done else ":speech_balloon:"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(f"{icon} *{name}*  ·  {status}")},
        {"type": "section", "fields": [mrkdwn(f) for f in fields]},
        context(slack_link(link, "Open the chat in Chatra")),
    ]
    done_or_reopen = (
        button(REOPEN_BUTTON, "Reopen", client.id)
        if done
        else button(DONE_BUTTON, "Done", client.id)
    )
    buttons = [
        *([] if owner or closed or done else [button(CLAIM_BUTTON, "I'll take it", client.id)]),
        *([] if closed else [done_or_reopen]),
        button(DETAILS_BUTTON, "Visitor details", client.id),
        button(EDIT_BUTTON, "Edit visitor", client.id),
        button(PUSH_BUTTON, "Send pushed message", client.id),
        button(DISCUSS_BUTTON, "Discuss internally", client.id),
    ]
    blocks.insert(2, {"type": "actions", "elements": buttons})
    if owner:
        blocks.insert(1, context(f":raised_hand: Taken by <@{owner}>"))
    if on_call is not None:
        told = " ".join(map(mention, on_call))
        line = f":rotating_light: On call: {told}" if on_call else ":zzz: No one is on call"
        blocks.insert(1, context(cut(line, SHOWN_LINE)))
    if after_hours:
        blocks.insert(1, context(cut(f":crescent_moon: {plain_to_slack(after_hours)}", SHOWN_LINE)))
    if state.queue:
        moved = f" · :warning: {state.moved}: shown here" if state.moved else ""
        blocks.insert(1, context(f":inbox_tray: Queue: *{plain_to_slack(state.queue)}*{moved}"))
    if state.earlier:
        blocks.insert(1, context(came_back(state.earlier)))
    elif state.previous:
        earlier = (
            f":leftwards_arrow_with_hook: Follows {slack_link(state.previous, 'an earlier chat')}"
        )
        blocks.insert(1, context(earlier))
    if closed and state.summary:
        blocks.insert(1, context(cut(plain_to_slack(state.summary), SHOWN_LINE)))
    if done:
        when = state.done_at or 0.0
        blocks.insert(
            1,
            context(f":white_check_mark: Done by {mention(state.done_by or '')} · {moment(when)}"),
        )
    elif state.reopened and not closed:
        blocks.insert(1, context(f":arrows_counterclockwise: Reopened: {state.reopened}"))
    blocks[1:1] = [block for line in state.opening for block in _opening_blocks(line)]
    details = " · ".join(
        _detail(part, 150) for part in (client.email, client.chatStartTitle or page) if part
    )
    verb = (
        "Chat closed"
        if closed
        else "Done"
        if done
        else "Taken"
        if owner
        else "New chat" + (" after hours" if after_hours else "")
    )
    if state.opening:  # what the visitor wrote comes first: in notifications and search too
        said = cut(state.opening[0].text, 150)
        text = f"{name}: {said} ({verb}" + (f" · {details})" if details else ")")
    else:
        text = f"{verb}: {name}" + (f" ({details})" if details else "")
    if on_call and not closed and not done:  # in the notification text too: they are notified
        text += " " + " ".join(map(mention, on_call))
    return SlackMessage(text=text, blocks=blocks)


def _opening_blocks(line: OpeningLine) -> list[dict[str, Any]]:
    """A message the card opens with, as a joined post shows each of its messages."""
    text = line.text + ("\n_… continued in the thread_" if line.continued else "")
    said = [said_by(line.author, line.at), {"type": "section", "text": mrkdwn(text or " ")}]
    return said + line.images


def said_by(author: str, at: float) -> dict[str, Any]:
    """The line above a message in a joined post or a card: its author, and when."""
    return context(f"*{plain_to_slack(author)}* · {moment(at)}")


def earlier_chats(count: int, latest: list[Thread], workspace_url: str) -> EarlierChats | None:
    """A visitor's chats mirrored so far (`Threads.earlier`), with links to the newest."""
    if not count:
        return None
    shown = [
        (thread_link(t.channel, t.thread_ts, workspace_url), t.updated_at)
        for t in latest
        if t.thread_ts
    ]
    return EarlierChats(count=count, last_at=latest[0].updated_at, threads=shown)


def came_back(earlier: EarlierChats, heading: str = "Came back", noun: str = "earlier chat") -> str:
    """A visitor's earlier chats: how many, when the last was, the newest linked."""
    chats = f"1 {noun}" if earlier.count == 1 else f"{earlier.count} {noun}s"
    last = f"<!date^{int(earlier.last_at)}^{{date_short_pretty}}|{_day(earlier.last_at)}>"
    links = [slack_link(link, _day(at)) for link, at in earlier.threads]
    return " · ".join([f":leftwards_arrow_with_hook: {heading}: {chats}, the last {last}", *links])


def _day(at: float) -> str:
    return time.strftime("%d %b %Y", time.gmtime(at))


def moment(at: float) -> str:
    """A moment as the reader's own clock shows it."""
    fallback = time.strftime("%H:%M:%S UTC", time.gmtime(at))
    return f"<!date^{int(at)}^{{time_secs}}|{fallback}>"


def _detail(value: str | None, limit: int = SHOWN_DETAIL) -> str:
    """A visitor's detail as the card shows it: escaped, at most `limit` characters."""
    return cut(value_or_dash(value), limit)


def client_details(
    client: ChatraClient, *, dashboard_url: str, chats: EarlierChats | None
) -> SlackMessage:
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
        custom = extra.get(group)
        for key, value in (custom if isinstance(custom, dict) else {}).items():
            facts[str(key)] = value
    fields = [
        mrkdwn(f"*{cut(plain_to_slack(label), 100)}*\n{cut(plain_to_slack(str(v)), 1800)}")
        for label, v in facts.items()
        if v
    ]
    more = len(fields) - MOST_FACTS
    fields = fields[:MOST_FACTS]  # the visitor's custom data could fill a hundred sections
    pages = _pages(extra.get("pages") or extra.get("visitedPages"))
    if pages:
        fields.append(mrkdwn(f"*Pages*\n{pages}"))
    links = [slack_link(chat_link(client, dashboard_url), "Open in Chatra")]
    name = plain_to_slack(client.display_name())
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(f":bust_in_silhouette: *{name}*")}
    ]
    for start in range(0, len(fields), 10):  # a section holds at most 10 fields
        blocks.append({"type": "section", "fields": fields[start : start + 10]})
    if more > 0:
        links.append(f"{more} more details in Chatra")
    blocks.append(context(" · ".join(links)))
    if chats:
        blocks.append(context(came_back(chats, "In Slack", "chat")))
    return SlackMessage(text=f"Visitor {name}", blocks=blocks)


MOST_FACTS = 39  # fields of a lookup, at most: four sections, with the pages


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
            label = cut(str(title or url), 80)
            links.append(slack_link(url, label) if len(url) < 300 else plain_to_slack(label))
    return "\n".join(links) or None


def modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (loading, or what went wrong)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title[:24]},
        "blocks": [{"type": "section", "text": mrkdwn(text)}],
    }


def edit_visitor_modal(client_id: str, client: dict[str, Any]) -> dict[str, Any]:
    blocks = []
    for field, (label, longest) in VISITOR_FIELDS.items():
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": field == "notes",
        }
        if client.get(field):
            element["initial_value"] = str(client[field])[:longest]
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


def home_view(chats: list[str], health: list[str], chart: list[dict[str, Any]]) -> dict[str, Any]:
    """The App Home tab: health, then one line per open chat, then the last days' chart."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Chatra bridge"}},
        {"type": "section", "text": mrkdwn("*Health*\n" + "\n".join(health))},
        {"type": "divider"},
        {"type": "section", "text": mrkdwn(f"*Open chats* ({len(chats)})")},
    ]
    blocks += [{"type": "section", "text": mrkdwn(line)} for line in chats]
    if not chats:
        blocks.append(context("No open chats."))
    blocks = blocks[: 100 - len(chart) - 1]
    return {"type": "home", "blocks": [*blocks, {"type": "divider"}, *chart]}


def home_view_refused(refusal: str) -> dict[str, Any]:
    """The App Home tab of someone who may not act on visitors: why, and whom to ask."""
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Chatra bridge"}},
            {"type": "section", "text": mrkdwn(f":no_entry: {refusal}")},
        ],
    }


def pushed_sent(message_id: str, client_id: str) -> SlackMessage:
    ids = plain_to_slack(message_id), plain_to_slack(client_id)
    text = f":incoming_envelope: Pushed message `{ids[0]}` sent to `{ids[1]}`."
    delete = button(DELETE_PUSHED_BUTTON, "Delete", message_id)
    delete["style"] = "danger"
    delete["confirm"] = {
        "title": {"type": "plain_text", "text": "Delete the pushed message?"},
        "text": {"type": "plain_text", "text": "The visitor will no longer see it."},
        "confirm": {"type": "plain_text", "text": "Delete"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    buttons = [button(EDIT_PUSHED_BUTTON, "Edit", message_id), delete]
    blocks = [{"type": "section", "text": mrkdwn(text)}, {"type": "actions", "elements": buttons}]
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
