"""Slack at start: who the bot is, and a token Slack refuses, which stops the start in one line
naming the fix."""

import asyncio

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse


class StartRefused(Exception):
    """Start-up cannot go on, for a reason no waiting mends (a token Slack refuses): one line."""

    @classmethod
    def by_slack(
        cls, reason: str, setting: str, fixes: dict[str, str], where: str
    ) -> "StartRefused | None":
        """When Slack's `reason` (its answer's `error`) is one of `fixes`: the line naming the
        fix for `setting` (found in the app's settings at `where`)."""
        if reason not in fixes:
            return None
        return cls(f"Slack refused {setting} ({reason}): {fixes[reason]} ({where})")


# Slack's answers to auth.test that no waiting mends: the bot token is wrong. What to do.
TOKEN_REFUSED = {
    "invalid_auth": "copy the Bot User OAuth Token (xoxb-...) again",
    "not_authed": "set SLACK_BOT_TOKEN",
    "token_revoked": "reinstall the app to the workspace and copy its new bot token",
    "token_expired": "reinstall the app to the workspace and copy its new bot token",
    "account_inactive": "reinstall the app to the workspace and copy its new bot token",
    "not_allowed_token_type": "it must be the bot token (xoxb-...)",
}
BOT_TOKEN_PAGE = "OAuth & Permissions -> Bot User OAuth Token"  # where the app's settings show it
FIRST_ASK = 10.0  # seconds auth.test is waited for at start; then the bridge starts and asks on


async def who_the_bot_is(client: AsyncWebClient) -> AsyncSlackResponse | None:
    """Slack's answer to auth.test at start; None when Slack cannot be reached (waited out
    after); StartRefused, naming the fix, when Slack refuses the bot token."""
    try:
        async with asyncio.timeout(FIRST_ASK):
            return await client.auth_test()
    except SlackApiError as error:
        reason = str(error.response.get("error"))
        refused = StartRefused.by_slack(reason, "SLACK_BOT_TOKEN", TOKEN_REFUSED, BOT_TOKEN_PAGE)
        if refused is not None:
            raise refused from None
        return None
    except Exception:  # unreachable, timed out: asked again once the bridge runs
        return None
