"""Which failures are worth waiting out: judged at the edge, where the error types are known.

True: the outside world will get over it (a service down, slow or rate limiting, a database lock
or a full disk): the event waits, however long. False: it can never succeed as it is (Slack or
Chatra refused the input): the event is marked failed, visibly and replayable. None: of a kind
not known here (a bug, say): tried a few times, then failed.
"""

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.core.errors import ChannelRefused, MembraneError, SlackRefused, ThreadNotKnownYet
from storage import DatabaseUnavailable

# Slack errors that mean Slack is down or the setup is broken for now: an operator's fix or time
# mends them, and every event waits meanwhile.
SLACK_WAITS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "missing_scope",
}
# One channel's problem, not Slack's: it is gone or archived, or the bot is not in it. What is
# meant for it waits for an admin's fix (a new chat's card goes to SLACK_CHANNEL_ID instead).
CHANNEL_REFUSALS = {"channel_not_found", "not_in_channel", "is_archived"}
NETWORK = (aiohttp.ClientError, TimeoutError, ConnectionError)


def worth_waiting(error: BaseException) -> bool | None:
    if isinstance(error, MembraneError):
        return error.transient
    if isinstance(error, SlackRefused):
        return False
    if isinstance(error, ChannelRefused | ThreadNotKnownYet):
        return True
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        waits = SLACK_WAITS | CHANNEL_REFUSALS
        return True if status == 429 or status >= 500 or slack_error(error) in waits else None
    if isinstance(error, (*NETWORK, DatabaseUnavailable)):
        return True
    return None


def slack_error(error: SlackApiError) -> str:
    """Slack's reason (`channel_not_found`), or the HTTP status of an answer that is no JSON
    (a body too large for Slack gets a page, not JSON)."""
    data = error.response.data
    return (
        str(data.get("error")) if isinstance(data, dict) else f"HTTP {error.response.status_code}"
    )


def slack_is_down(error: BaseException) -> str | None:
    """Why Slack counts as down after this failure of a call; None when Slack answered."""
    if isinstance(error, NETWORK):
        return "no answer" if isinstance(error, TimeoutError) else type(error).__name__
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        reason = slack_error(error)
        if status == 429 or status >= 500 or reason in SLACK_WAITS:
            return reason if status < 500 else f"HTTP {status}"
    return None
