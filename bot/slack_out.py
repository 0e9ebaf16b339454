"""The Slack Web API calls the core needs, over slack_sdk's AsyncWebClient with retry handlers."""

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_views import SlackMessage


def make_web_client(token: str, base_url: str) -> AsyncWebClient:
    """A client that obeys `Retry-After` on 429 and retries 5xx and dropped connections."""
    client = AsyncWebClient(
        token=token, base_url=base_url if base_url.endswith("/") else base_url + "/"
    )
    client.retry_handlers.extend(
        [
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
        ]
    )
    return client


class SlackOut:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._user_names: dict[str, str] = {}

    async def post(self, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        """Post a message (a thread reply when `thread_ts` is given); returns its ts."""
        response = await self._client.chat_postMessage(
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        await self._client.chat_update(
            channel=channel, ts=ts, text=message.text, blocks=message.blocks
        )

    async def user_name(self, user_id: str) -> str | None:
        """A person's display name, cached; None when Slack does not know them."""
        if user_id not in self._user_names:
            try:
                response = await self._client.users_info(user=user_id)
            except SlackApiError:
                return None
            user = response["user"]
            profile = user.get("profile") or {}
            self._user_names[user_id] = (
                profile.get("display_name")
                or profile.get("real_name")
                or user.get("name")
                or user_id
            )
        return self._user_names[user_id]
