"""The Slack Web API calls the core needs, over slack_sdk's AsyncWebClient with retry handlers."""

import logging
from functools import partial
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.clients.failure_kinds import CHANNEL_REFUSALS, slack_error, slack_is_down
from bot.clients.metrics import Metrics
from bot.core.engine.health import Health
from bot.core.errors import ChannelRefused, SlackRefused
from bot.core.ports import Posted, ReplyState
from bot.core.posting.poster import is_person
from bot.core.slack_ui.blocks import SlackMessage

log = logging.getLogger(__name__)
METADATA_TYPE = "chatra_bridge_post"
REACTIONS = {
    ReplyState.PENDING: "hourglass_flowing_sand",
    ReplyState.DELIVERED: "white_check_mark",
    ReplyState.FAILED: "warning",
    ReplyState.NOTE: "lock",  # an internal note: not sent to the visitor
}
NOT_REPEATABLE = ("/chat.postMessage",)  # a blind retry could post twice: SlackDelivery decides
# Slack's answers to a post that no retry can change; for a DM (posted to a user id) also those
# that say the person is gone. A channel that is gone or left is a setup problem: waited out.
REFUSED_FOR_GOOD = {"msg_too_long", "no_text", "invalid_arguments", "restricted_action"}
NO_SUCH_PERSON = {
    "channel_not_found",
    "user_not_found",
    "user_disabled",
    "cannot_dm_bot",
}


def _keys_of(payload: dict[str, Any]) -> set[str]:
    """The keys a post of ours carries (`key`: one, as posts made before joining did)."""
    keys = payload.get("keys")
    return {
        key
        for key in (keys if isinstance(keys, list) else [payload.get("key")])
        if isinstance(key, str)
    }


def _repeatable(request: HttpRequest) -> bool:
    return not request.url.endswith(NOT_REPEATABLE)


class _ServerErrorRetry(AsyncServerErrorRetryHandler):
    async def _can_retry_async(self, *, request: HttpRequest, **kwargs: Any) -> bool:
        return _repeatable(request) and await super()._can_retry_async(request=request, **kwargs)


class _ConnectionErrorRetry(AsyncConnectionErrorRetryHandler):
    async def _can_retry_async(self, *, request: HttpRequest, **kwargs: Any) -> bool:
        return _repeatable(request) and await super()._can_retry_async(request=request, **kwargs)


class WatchedWebClient(AsyncWebClient):
    """slack_sdk's client, telling `health` whether Slack answered each call."""

    health: Health

    async def api_call(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = await super().api_call(*args, **kwargs)
        except Exception as error:
            why = slack_is_down(error)
            if why is None:
                await self.health.worked("slack")
            else:
                await self.health.failed("slack", why)
            raise
        await self.health.worked("slack")
        return response


def make_web_client(
    token: str,
    base_url: str,
    session: aiohttp.ClientSession | None,
    health: Health,
    timeout: float,
) -> AsyncWebClient:
    """Obeys `Retry-After` on 429 (Slack did nothing, safe to repeat); retries 5xx and dropped
    connections only for calls that are safe to repeat. `timeout` applies only without a
    `session`: with one, the session's own timeout does."""
    handlers = [AsyncRateLimitErrorRetryHandler(5), _ServerErrorRetry(3), _ConnectionErrorRetry(3)]
    # In place of slack_sdk's default list, whose connection-error handler repeats any call.
    client = WatchedWebClient(
        token=token,
        base_url=base_url.rstrip("/") + "/",
        session=session,
        retry_handlers=handlers,
        timeout=int(max(timeout, 1)),
    )
    client.health = health
    return client


class SlackOut:
    def __init__(
        self, client: AsyncWebClient, *, health: Health, metrics: Metrics | None = None
    ) -> None:
        self._client = client
        self._health = health  # told of each channel that refuses the bot, and when it is mended
        self._metrics = metrics or Metrics()
        self.workspace_url = "https://slack.com/"  # until auth.test says (bot.running.app)
        self.bot_user_id = ""  # likewise
        self._users: dict[str, dict[str, Any]] = {}  # users.info, cached

    async def post(
        self,
        channel: str,
        message: SlackMessage,
        thread_ts: str | None = None,
        keys: tuple[str, ...] = (),
    ) -> Posted:
        """Post a message (a thread reply when `thread_ts` is given), tagged with the `keys` of
        what it carries. SlackRefused when Slack refuses it for good, ChannelRefused when the
        channel takes no posts of the bot's. Unpaced: SlackDelivery paces posts per channel."""
        post = partial(
            self._client.chat_postMessage,
            channel=channel,
            text=message.text,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            username=message.username,
            reply_broadcast=message.broadcast or None,
            icon_emoji=message.icon_emoji,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"keys": list(keys)}},
        )
        self._metrics.events_out.labels("slack", "chat.postMessage").inc()
        try:
            response = await post(blocks=message.blocks)
        except SlackApiError as error:
            reason = slack_error(error)
            self._metrics.failures.labels(f"slack:{reason}").inc()
            if reason in REFUSED_FOR_GOOD or (is_person(channel) and reason in NO_SUCH_PERSON):
                raise SlackRefused(f"Slack refused a post to {channel}: {reason}") from None
            if self._refuses(channel, reason):
                raise ChannelRefused(channel, reason) from None
            if not message.blocks or reason != "invalid_blocks":
                raise
            log.warning("Slack refused the blocks of %s: posting its text alone", keys[:1])
            response = await post(blocks=None)  # rejected outright: nothing was posted
        self._health.channel_works(channel)
        return Posted(str(response["channel"]), str(response["ts"]))

    def _refuses(self, channel: str, reason: str) -> bool:
        """Whether `reason` is the channel's own problem (noted, and logged once)."""
        if reason not in CHANNEL_REFUSALS or is_person(channel):
            return False
        if self._health.channel_refused(channel, reason):
            log.warning("Slack refuses the bot in channel %s: %s", channel, reason)
        return True

    async def find_posted(
        self, channel: str, thread_ts: str | None, keys: list[str], since: float
    ) -> dict[str, str]:
        """The ts of each of our posts tagged with one of `keys`, made at or after `since`, that
        Slack has: one read of the thread (or channel) for them all."""
        oldest = f"{max(since - 60, 0):.6f}"  # clocks differ a little
        if thread_ts:
            pages = await self._client.conversations_replies(
                channel=channel, ts=thread_ts, oldest=oldest, include_all_metadata=True, limit=200
            )
        else:
            pages = await self._client.conversations_history(
                channel=channel, oldest=oldest, include_all_metadata=True, limit=200
            )
        wanted, found = set(keys), {}
        async for page in pages:
            for message in page.get("messages", []):
                metadata = message.get("metadata") or {}
                for key in wanted & _keys_of(metadata.get("event_payload") or {}):
                    found[key] = str(message["ts"])
            if len(found) == len(wanted):
                break
        return found

    async def show_state(
        self, channel: str, ts: str, state: ReplyState, previous: ReplyState | None
    ) -> None:
        """Show a reply's delivery state as a reaction on it. Cosmetic: a failure is only logged."""
        try:
            if previous:
                await self._call_ignoring(
                    "no_reaction",
                    self._client.reactions_remove,
                    channel=channel,
                    timestamp=ts,
                    name=REACTIONS[previous],
                )
            await self._call_ignoring(
                "already_reacted",
                self._client.reactions_add,
                channel=channel,
                timestamp=ts,
                name=REACTIONS[state],
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            log.info("could not show %s on %s: %s", state, ts, type(error).__name__)

    @staticmethod
    async def _call_ignoring(harmless: str, call: Any, **args: Any) -> None:
        try:
            await call(**args)
        except SlackApiError as error:
            if error.response.get("error") != harmless:
                raise

    async def update(
        self, channel: str, ts: str, message: SlackMessage, keys: tuple[str, ...] = ()
    ) -> None:
        """Redraw a message; `keys`, when given, replace the keys it carries."""
        tagged = {"event_type": METADATA_TYPE, "event_payload": {"keys": list(keys)}}
        await self._client.chat_update(
            channel=channel,
            ts=ts,
            text=message.text,
            blocks=message.blocks,
            **({"metadata": tagged} if keys else {}),
        )

    async def tell(
        self, channel: str, user: str, message: SlackMessage, thread_ts: str | None = None
    ) -> None:
        """Show `message` to `user` alone (an ephemeral message), in the thread if given."""
        await self._client.chat_postEphemeral(
            channel=channel,
            user=user,
            text=message.text,
            blocks=message.blocks,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        )

    async def reacted(self, channel: str, ts: str) -> dict[str, set[str]]:
        """Who reacted to a message, by reaction name (scope reactions:read)."""
        response = await self._client.reactions_get(channel=channel, timestamp=ts, full=True)
        found = (response.get("message") or {}).get("reactions") or []
        return {str(r.get("name")): {str(u) for u in r.get("users") or []} for r in found}

    async def user_name(self, user_id: str) -> str | None:
        """A person's display name; None when Slack does not know them."""
        user = await self._user(user_id)
        if user is None:
            return None
        profile = user.get("profile") or {}
        names = (profile.get("display_name"), profile.get("real_name"), user.get("name"))
        return next((name for name in names if name), user_id)

    async def user_email(self, user_id: str) -> str | None:
        """A person's email, when the app may read it (scope users:read.email)."""
        user = await self._user(user_id)
        return ((user or {}).get("profile") or {}).get("email") or None

    async def file_info(self, file_id: str) -> dict[str, Any] | None:
        """What files.info says of a shared file (scope files:read); None when it will not."""
        try:
            response = await self._client.files_info(file=file_id)
        except SlackApiError as error:
            log.warning("files.info of %s refused: %s", file_id, error.response.get("error"))
            return None
        found = response.get("file")
        return found if isinstance(found, dict) else None

    async def active(self, user_id: str) -> bool:
        """Whether Slack shows the person active now (users.getPresence, scope users:read); a
        refusal is taken for away. Slack being down raises."""
        try:
            response = await self._client.users_getPresence(user=user_id)
        except SlackApiError as error:
            if slack_is_down(error):
                raise
            log.warning("presence of %s unknown: %s", user_id, slack_error(error))
            return False
        return response.get("presence") == "active"

    async def is_guest(self, user_id: str) -> bool | None:
        """Whether a person is a guest (single- or multi-channel); None: Slack knows no one so."""
        user = await self._user(user_id)
        if user is None:
            return None
        return bool(user.get("is_restricted") or user.get("is_ultra_restricted"))

    async def channel_members(self, channel: str) -> set[str] | None:
        """Everyone in a channel (scopes channels:read, groups:read); None when Slack will not
        say (a missing scope, say). Slack being down raises."""
        members: set[str] = set()
        try:
            async for page in await self._client.conversations_members(channel=channel, limit=1000):
                members |= {str(member) for member in page.get("members") or []}
        except SlackApiError as error:
            if slack_is_down(error):
                raise
            reason = slack_error(error)
            if not self._refuses(channel, reason):
                log.warning("members of %s unknown: %s", channel, reason)
            return None
        return members

    async def group_members(self, group_id: str) -> list[str]:
        """The people in a user group (scope usergroups:read); none when Slack will not say."""
        try:
            response = await self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as error:
            log.warning("members of user group %s unknown: %s", group_id, slack_error(error))
            return []
        return [str(user) for user in response.get("users") or []]

    async def _user(self, user_id: str) -> dict[str, Any] | None:
        """users.info, cached; None for someone Slack does not know. Slack being down raises:
        who writes must not be guessed while Slack cannot say."""
        if user_id not in self._users:
            try:
                response = await self._client.users_info(user=user_id)
            except SlackApiError as error:
                if slack_is_down(error):
                    raise
                return None
            self._users[user_id] = response["user"]
        return self._users[user_id]
