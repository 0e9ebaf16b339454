"""The lines the bridge says in a chat's thread or the channel: warnings, outages, nudges and
escalations, notices. Data in, SlackMessage out."""

from bot.core.slack_ui.blocks import SlackMessage, button, context, mention, mrkdwn
from bot.core.slack_ui.ids import KEEP_AS_NOTE, RETRY_ACTION, SEND_ANYWAY
from bot.core.wire.rating import Rating
from bot.core.wire.text import plain_to_slack, shorten, slack_link
from storage import PastOutage


def delivery_warning(
    what: str, quoted: str, reason: str, retry_ts: str | None = None
) -> SlackMessage:
    """A short notice in the thread naming what did not reach the visitor, and why; with a
    "Try again" button when the reply at `retry_ts` can be sent again."""
    quote = plain_to_slack(shorten(quoted))
    text = f":warning: {what} did not reach the visitor: “{quote}”. {plain_to_slack(reason)}"
    if retry_ts is None:
        return SlackMessage(text=text)
    retry = button(RETRY_ACTION, "Try again", retry_ts)
    blocks = [{"type": "section", "text": mrkdwn(text)}, {"type": "actions", "elements": [retry]}]
    return SlackMessage(text=text, blocks=blocks)


def recovered_notice(outage: PastOutage) -> SlackMessage:
    """One line when Slack or Membrane is back: how long it was gone, what waited."""
    name = {"slack": "Slack", "membrane": "Membrane"}.get(outage.service, outage.service)
    lasted = how_long(outage.until - outage.since)
    count = outage.delayed
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
    return SlackMessage(text=text, blocks=[context(text)])


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


def low_rating_notice(
    name: str, rating: Rating, *, link: str | None = None, broadcast: bool = False
) -> SlackMessage:
    """A low rating in the chat's thread (broadcast when no one has the chat), or, with the
    thread's `link`, to the chat's owner. What the visitor wrote is quoted as plain text."""
    who = slack_link(link, name) if link else plain_to_slack(name)
    said = f": “{plain_to_slack(rating.comment)}”" if rating.comment else ", with no comment"
    text = f":small_red_triangle_down: {who} rated the chat *{plain_to_slack(rating.shown)}*{said}"
    return SlackMessage(text=text, broadcast=broadcast)


def escalation_dm(name: str, seconds: float, link: str) -> SlackMessage:
    who = slack_link(link, name)
    return SlackMessage(
        text=f":rotating_light: {who} has waited {how_long(seconds)} for an answer."
    )


def internal_discussion(name: str, chat_thread: str) -> SlackMessage:
    """The top of a thread about a chat that stays among the team."""
    who = slack_link(chat_thread, name)
    text = (
        f":lock: Internal discussion about the chat with {who}. Replies here stay in Slack and"
        " never reach the visitor."
    )
    return SlackMessage(text=text)


def internal_discussion_link(link: str) -> SlackMessage:
    discussion = slack_link(link, "Internal discussion")
    text = f":lock: {discussion} of this chat: what is said there stays in Slack."
    return SlackMessage(text=text, blocks=[context(text)])


def channel_refused_notice(channel: str, reason: str, queue: str) -> SlackMessage:
    """Said once a day in the support channel while a routed channel refuses the bot."""
    text = (
        f":warning: Slack refuses the bot's posts in <#{channel}> (`{channel}`: {reason}), where"
        f" CHANNEL_ROUTES sends the {plain_to_slack(queue)} queue: its new chats come here"
        " meanwhile. Invite @Chatra to that channel, or fix CHANNEL_ROUTES."
    )
    return SlackMessage(text=text)


def writing_as_notice(person: str, agent: str) -> SlackMessage:
    text = (
        f":information_source: {plain_to_slack(person)} has no Chatra agent linked, so the visitor"
        f" sees their replies as {plain_to_slack(agent)}."
    )
    return SlackMessage(text=text, blocks=[context(text)])


def not_allowed_notice(user: str, reason: str) -> SlackMessage:
    """`reason` is the bridge's own sentence (bot.core.people.access), mentions included."""
    text = f":no_entry: {mention(user)}'s replies here do not reach the visitor. {reason}"
    return SlackMessage(text=text, blocks=[context(text)])


def retrying_notice(quoted: str, user_name: str) -> SlackMessage:
    who, what = plain_to_slack(user_name), plain_to_slack(shorten(quoted))
    text = f":arrows_counterclockwise: Trying again, as {who} asked: “{what}”"
    return SlackMessage(text=text, blocks=[context(text)])


def mention_question(
    named: list[str], reply_ts: str, quoted: str, *, edited: bool = False
) -> SlackMessage:
    """Asked of a reply's author alone: it (or their edit of it, `edited`) mentions teammates, so
    it may not be for the visitor. It quotes the start of the reply (`quoted`, plain text), so
    two questions cannot be confused."""
    what = "Your edit" if edited else "This"
    quote = plain_to_slack(shorten(quoted, 80))
    text = f":raised_hand: {what} mentions {', '.join(named)}: send it to the visitor? “{quote}”"
    buttons = [
        button(SEND_ANYWAY, "Send to visitor", reply_ts),
        button(KEEP_AS_NOTE, "Keep as a note", reply_ts),
    ]
    note = (
        "No answer in 10 minutes: the visitor keeps the earlier text."
        if edited
        else "No answer in 10 minutes: it stays in Slack as a note."
    )
    blocks = [
        {"type": "section", "text": mrkdwn(text)},
        {"type": "actions", "elements": buttons},
        context(note),
    ]
    return SlackMessage(text=text, blocks=blocks)


def saved_reply_shown(name: str, sent: str) -> SlackMessage:
    """Under a `;name` reply: what the visitor got."""
    text = f":memo: Sent as `;{name}`: {shorten(plain_to_slack(sent), 2800)}"
    return SlackMessage(text=text, blocks=[context(text)])


def unknown_saved_reply(name: str) -> SlackMessage:
    """To the author alone: a `;name` reply that names no saved reply."""
    return SlackMessage(f"No saved reply `;{name}`: nothing was sent. `/chatra saved` lists them.")
