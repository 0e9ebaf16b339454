"""What each keyed Slack post is for: built and recognised here alone. A key makes its post appear
once (see `bot.core.posting.poster`) and travels in the post's metadata."""

import hashlib

PAUSED, RESUMED = "paused:", "resumed:"  # Chatra disconnected in Membrane, and back
INTERNAL = "internal:"  # the top of a thread the team keeps to itself
FAILED_EVENTS = "failed-events:"


def card(thread_id: int) -> str:
    """A chat's card: one per thread, ever."""
    return f"card:{thread_id}"


def is_card(key: str) -> bool:
    return key.startswith("card:")


def chatra_message(message_key: str, piece: int) -> str:
    return f"chatra:{message_key}" + (f":{piece}" if piece else "")


def saved_sent(reply_ts: str) -> str:
    """Under a `;name` reply: what the visitor got."""
    return f"saved:{reply_ts}"


def digest(week: str) -> str:
    """The weekly digest due at `week` (its local time): posted once, by whichever bridge."""
    return f"digest:{week}"


def internal(thread_id: int) -> str:
    return f"{INTERNAL}{thread_id}"


def is_internal(key: str | None) -> bool:
    return (key or "").startswith(INTERNAL)


def internal_link(thread_id: int) -> str:
    return f"internal-link:{thread_id}"


def writing_as(thread_ts: str, user: str) -> str:
    return f"as:{thread_ts}:{user}"


def not_allowed(thread_ts: str, user: str) -> str:
    """Once per thread and person: their replies do not reach the visitor."""
    return f"not-allowed:{thread_ts}:{user}"


def warning(about: str) -> str:
    """A warning in a thread that something did not reach the visitor."""
    return f"warn:{about}"


def send_warning(reply_ts: str, retry_key: str | None) -> str:
    return warning(f"send:{reply_ts}:{retry_key or 0}")


def edit_warning(reply_ts: str, text: str) -> str:
    return warning(f"edit:{reply_ts}:{hashlib.sha256(text.encode()).hexdigest()[:16]}")


def delete_warning(reply_ts: str) -> str:
    return warning(f"delete:{reply_ts}")


def files_warning(reply_ts: str) -> str:
    return warning(f"files:{reply_ts}")


def maybe_twice(reply_ts: str, record_id: int) -> str:
    return f"twice:{reply_ts}:{record_id}"


def paused(outage: int) -> str:
    return f"{PAUSED}{outage}"


def resumed(outage: int) -> str:
    return f"{RESUMED}{outage}"


def nudge(thread_id: int, since: float) -> str:
    return f"nudge:{thread_id}:{since}"


def escalation_dm(thread_id: int, since: float, person: str) -> str:
    return f"dm:{thread_id}:{since}:{person}"


def escalation(thread_id: int, since: float) -> str:
    return f"escalate:{thread_id}:{since}"


def low_rating(thread_id: int, rating: str, comment: str, to: str = "") -> str:
    """A low rating, in the chat's thread (or to its owner, `to`): once, however often the
    transcript saying it comes; a rating changed later is told again."""
    said = hashlib.sha256(f"{rating}\n{comment}".encode()).hexdigest()[:16]
    return f"rated:{thread_id}:{said}" + (f":{to}" if to else "")


def failed_events(last_event_id: int) -> str:
    return f"{FAILED_EVENTS}{last_event_id}"


def last_event_of(key: str) -> int:
    """The last failed event a `failed_events` post told of."""
    return int(key.removeprefix(FAILED_EVENTS))


def channel_refused(channel: str, day: str) -> str:
    """The support channel is told, once a day, that a queue's channel refuses the bot."""
    return f"refused:{channel}:{day}"


def recovered(service: str, since: float) -> str:
    return f"recovered:{service}:{since:.0f}"
