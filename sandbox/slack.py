"""A fake Slack Web API: keeps what it was sent and answers like Slack.

Answers are HTTP 200 with `{"ok": true, ...}` or `{"ok": false, "error": "..."}`; rate limiting is
HTTP 429 with `Retry-After`. Message `ts` values are unique, increasing "seconds.micro" strings.
"""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.server import FakeServer
from sandbox.slack_files import SlackFiles
from sandbox.slack_reactions import Reactions
from sandbox.slack_socket import SocketMode
from sandbox.slack_wire import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    USERNAME,
    Fault,
    Posted,
    arguments,
    blocks_of,
    blocks_problem,
    error,
    image_reachable,
    json_arg,
    manifest_scopes,
    ok,
    page,
)

UPDATE_LIMIT = (10, 50 / 60)
BOT_USER = {  # the app's bot user, as users.info describes it
    "id": BOT_USER_ID,
    "name": "chatra",
    "is_bot": True,
    "profile": {"display_name": "", "real_name": "Chatra", "bot_id": BOT_ID},
}  # chat.update: Tier 3, 50 a minute with sporadic bursts


class FakeSlack(Reactions, FakeServer):
    def __init__(
        self,
        token: str,
        channels: set[str],
        users: dict[str, dict[str, Any]],
        app_token: str = "xapp-1-fake-app-token",
    ) -> None:
        super().__init__()
        self.token = token
        self.token_refusal: str | None = None  # the bot token is refused so: token_revoked, ...
        self.app_token = app_token
        self.socket_mode = SocketMode(self.app)  # its sockets, and what the app acked
        self.post_limit: tuple[int, float] | None = None  # (burst, per second) per channel
        self._buckets: dict[str, tuple[float, float]] = {}  # channel (or method) -> (tokens, at)
        self.rate_limited = 0  # 429s answered for posting too fast
        self.channels = channels  # where the bot is a member
        self.other_channels: set[str] = set()  # channels that exist, without the bot
        self.scopes = set(manifest_scopes())  # what the token was granted
        self.users = users
        self.messages: list[Posted] = []
        self._by_ts: dict[tuple[str, str], Posted] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: list[Fault] = []
        # method -> seconds Slack takes to answer once it has done the work: the event of a new
        # message can reach the app before the answer to the call that posted it
        self.answer_after: dict[str, float] = {}
        self._last_ts = 0.0
        self.app.router.add_route("*", "/api/{method}", self._dispatch)
        self.app.router.add_post("/response/{id}", self._response)
        self.shared = SlackFiles(self.app, lambda: self.url, token)
        self.files, self.cut_files = self.shared.files, self.shared.cut_files
        self.responses: list[dict[str, Any]] = []  # what the app answered through response_url
        self.views: dict[str, dict[str, Any]] = {}  # open modals by id
        self.views_opened: dict[str, str] = {}  # every modal's id -> the trigger that opened it
        self.home: dict[str, dict[str, Any]] = {}  # each user's App Home view
        self.ephemeral: list[tuple[str, str]] = []  # (user, text) shown to one person
        self.ephemeral_posts: list[dict[str, Any]] = []  # each one whole: its blocks, thread
        self.groups: dict[str, list[str]] = {}  # user group id (S...) -> its members
        self.dms: dict[str, str] = {}  # user id -> the app's DM with them (D...)
        self.members: dict[str, set[str]] = {}  # channel -> its members (default: every user)
        self.away: set[str] = set()  # people Slack shows away (everyone else is active)
        self.on_post: Callable[[Posted], None] | None = None  # told of every new message
        self.on_update: Callable[[Posted], None] | None = None  # ... and of every redrawn one

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    # -- what a person in the channel sees --

    def parents(self, channel: str) -> list[Posted]:
        return [m for m in self.messages if m.channel == channel and m.thread_ts is None]

    def replies(self, channel: str, thread_ts: str) -> list[Posted]:
        return [m for m in self.messages if m.channel == channel and m.thread_ts == thread_ts]

    def chat(self, channel: str, card_ts: str) -> list[str]:
        """What a reader sees of a chat, in order: the messages its card opens with, then each
        of its thread's."""
        card = self._by_ts[(channel, card_ts)]
        return [*card.joined, *(said for r in self.replies(channel, card_ts) for said in r.said)]

    def person_wrote(self, channel: str, ts: str, thread_ts: str, text: str, user: str) -> None:
        """A message a person wrote in Slack (its event is sent to the app by the test)."""
        posted = Posted(channel, ts, text, None, thread_ts, {}, user=user)
        self.messages.append(posted)
        self._by_ts[(channel, ts)] = posted

    def person_edited(self, channel: str, ts: str, text: str) -> None:
        posted = self._by_ts[(channel, ts)]
        posted.history.append(posted.text)
        posted.text = text

    def person_deleted(self, channel: str, ts: str) -> None:
        self.messages.remove(self._by_ts.pop((channel, ts)))

    def reactions_on(self, channel: str, ts: str) -> set[str]:
        posted = self._find(channel, ts)
        return posted.reactions if posted else set()

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    def fail_next(self, method: str, *, times: int = 1, **fault: Any) -> None:
        """The next `times` calls of `method` (`"*"`: of any method) fail as `fault` says."""
        self.faults.append(Fault(method, times=times, **fault))

    # -- the API --

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await arguments(request)
        self.calls.append((method, args))
        fault = next((f for f in self.faults if f.method in (method, "*")), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            if fault.hang:
                await asyncio.sleep(fault.hang)
            if fault.after_effect:
                await self._call(method, args)
            if fault.reset:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            body = {"ok": False, "error": fault.error or "ratelimited"}
            return web.json_response(body, status=fault.status, headers=headers)
        expected = self.app_token if method == "apps.connections.open" else self.token
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.token_refusal and given == self.token:
            return error(self.token_refusal)
        if given != expected:
            if "Authorization" not in request.headers:
                return error("not_authed")
            app_level = given.startswith("xapp-")  # as Slack: a token of the wrong kind is named
            return error(
                "not_allowed_token_type"
                if app_level != (expected == self.app_token)
                else "invalid_auth"
            )
        answer = await self._call(method, args)
        await asyncio.sleep(self.answer_after.get(method, 0))
        return answer

    async def _call(self, method: str, args: dict[str, Any]) -> web.Response:
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return error("unknown_method")
        return await handler(args)

    async def _auth_test(self, args: dict[str, Any]) -> web.Response:
        response = ok(
            url="https://fake.slack.com/",
            team="Fake",
            user="chatra-bridge",
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
        )
        response.headers["X-OAuth-Scopes"] = ",".join(sorted(self.scopes))  # as Slack does
        return response

    async def _apps_connections_open(self, args: dict[str, Any]) -> web.Response:
        return ok(url=self.url.replace("http://", "ws://") + "/socket-mode")

    def share_file(
        self, file_id: str, name: str, content: bytes, mimetype: str, *, check_info: bool = False
    ) -> dict[str, Any]:
        """A file a person uploads: the file object Slack puts in the message event."""
        return self.shared.share(file_id, name, content, mimetype, check_info=check_info)

    async def _files_info(self, args: dict[str, Any]) -> web.Response:
        return await self.shared.info(args)

    async def _response(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def _chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        channel = args.get("channel", "")
        if self._is_user(channel):  # the app's DM with that person, answered with its D… id
            channel = self.dm_of(channel)
        if channel in self.other_channels:
            return error("not_in_channel")
        if channel not in self.channels and channel not in self.dms.values():
            return error("channel_not_found")
        if not self._take_token(channel):
            return self._too_fast()
        text, blocks = args.get("text"), blocks_of(args.get("blocks"))
        if not text and not blocks:
            return error("no_text")
        if text and len(text) > 40_000:
            return error("msg_too_long")
        if blocks_problem(blocks or []) is not None:
            return error("invalid_blocks")
        if any(not image_reachable(b) for b in blocks or [] if b.get("type") == "image"):
            return error("invalid_blocks")  # Slack fetches images and refuses ones it cannot
        if len(args.get("username") or "") > USERNAME:
            return error("invalid_arguments")
        thread_ts = args.get("thread_ts") or None
        if thread_ts and (channel, thread_ts) not in self._by_ts:
            return error("thread_not_found")
        metadata = args.get("metadata")
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        posted = Posted(channel, self._next_ts(), text or "", blocks, thread_ts, args, metadata)
        self.messages.append(posted)
        self._by_ts[(channel, posted.ts)] = posted
        if self.on_post is not None:
            self.on_post(posted)
        message = {
            "type": "message",
            "text": posted.text,
            "ts": posted.ts,
            "bot_id": BOT_ID,
            "user": BOT_USER_ID,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        return ok(channel=channel, ts=posted.ts, message=message)

    async def _chat_update(self, args: dict[str, Any]) -> web.Response:
        posted = self._find(args.get("channel", ""), args.get("ts", ""))
        if posted is None:
            return error("message_not_found")
        if not self._take_token("chat.update", UPDATE_LIMIT):  # per workspace, not channel
            return self._too_fast()
        if len(args.get("text") or "") > 40_000:
            return error("msg_too_long")
        if blocks_problem(blocks_of(args.get("blocks")) or []) is not None:
            return error("invalid_blocks")
        posted.history.append(posted.text)
        posted.text = args.get("text") or posted.text
        posted.blocks = blocks_of(args.get("blocks")) or posted.blocks
        metadata = args.get("metadata")
        if metadata:
            posted.metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        if self.on_update is not None:
            self.on_update(posted)
        return ok(channel=posted.channel, ts=posted.ts, text=posted.text)

    async def _chat_delete(self, args: dict[str, Any]) -> web.Response:
        posted = self._find(args.get("channel", ""), args.get("ts", ""))
        if posted is None:
            return error("message_not_found")
        self.messages.remove(posted)
        del self._by_ts[(posted.channel, posted.ts)]
        return ok(channel=posted.channel, ts=posted.ts)

    async def _conversations_history(self, args: dict[str, Any]) -> web.Response:
        """Top-level messages, newest first, paged by cursor. A DM is read only by its D… id
        and with `im:history`; a user id is refused, as Slack does."""
        channel = args.get("channel", "")
        if channel in self.other_channels:
            return error("not_in_channel")
        if channel in self.dms.values() and "im:history" not in self.scopes:
            return error("missing_scope")
        if channel not in self.channels and channel not in self.dms.values():
            return error("channel_not_found")
        found = [m for m in reversed(self.messages) if m.channel == channel and m.thread_ts is None]
        return page(found, args)

    async def _conversations_replies(self, args: dict[str, Any]) -> web.Response:
        """A thread: the parent, then its replies oldest first, paged by cursor."""
        channel, ts = args.get("channel", ""), args.get("ts", "")
        parent = self._find(channel, ts)
        if parent is None:
            return error("thread_not_found")
        return page([parent, *self.replies(channel, ts)], args)

    async def _views_open(self, args: dict[str, Any]) -> web.Response:
        if not args.get("trigger_id"):
            return error("invalid_trigger_id")
        if blocks_problem(json_arg(args["view"]).get("blocks") or [], most=100):
            return error("invalid_arguments")
        view = {**json_arg(args["view"]), "id": f"V{len(self.views_opened) + 1:08d}"}
        self.views[view["id"]] = view
        self.views_opened[view["id"]] = args["trigger_id"]
        return ok(view=view)

    async def _views_update(self, args: dict[str, Any]) -> web.Response:
        if args.get("view_id") not in self.views:
            return error("not_found")
        if blocks_problem(json_arg(args["view"]).get("blocks") or [], most=100):
            return error("invalid_arguments")
        self.views[args["view_id"]] = {**json_arg(args["view"]), "id": args["view_id"]}
        return ok(view=self.views[args["view_id"]])

    async def _views_publish(self, args: dict[str, Any]) -> web.Response:
        if not args.get("user_id"):
            return error("invalid_arguments")
        if blocks_problem(json_arg(args["view"]).get("blocks") or [], most=100):
            return error("invalid_arguments")
        self.home[args["user_id"]] = json_arg(args["view"])
        return ok(view=self.home[args["user_id"]])

    async def _chat_postEphemeral(self, args: dict[str, Any]) -> web.Response:
        if args.get("channel") not in self.channels:
            return error("channel_not_found")
        self.ephemeral.append((args.get("user", ""), args.get("text", "")))
        blocks = json_arg(args["blocks"]) if args.get("blocks") else None
        self.ephemeral_posts.append({**args, "blocks": blocks})
        return ok(message_ts=self._next_ts())

    async def _users_info(self, args: dict[str, Any]) -> web.Response:
        user = self.users.get(args.get("user", "")) or (
            BOT_USER if args.get("user") == BOT_USER_ID else None
        )
        return ok(user=user) if user else error("user_not_found")

    async def _users_getPresence(self, args: dict[str, Any]) -> web.Response:
        user = args.get("user", "")
        if user not in self.users:
            return error("user_not_found")
        return ok(presence="away" if user in self.away else "active")

    async def _conversations_members(self, args: dict[str, Any]) -> web.Response:
        """Who is in a channel: everyone the fake knows, unless a test says otherwise. A public
        channel the bot is not in can be read too."""
        channel = args.get("channel", "")
        if channel not in self.channels | self.other_channels:
            return error("channel_not_found")
        return ok(members=sorted(self.members.get(channel, set(self.users))), response_metadata={})

    async def _usergroups_users_list(self, args: dict[str, Any]) -> web.Response:
        group = args.get("usergroup", "")
        if group not in self.groups:
            return error("no_such_subteam")
        return ok(users=self.groups[group])

    def _is_user(self, channel: str) -> bool:
        """Posting to a user id writes in the app's direct message with them."""
        return channel.startswith(("U", "W")) and channel in self.users

    def dm_of(self, user: str) -> str:
        """The id of the app's direct message with `user` (D…), made on first use."""
        return self.dms.setdefault(user, f"D{len(self.dms) + 1:08d}")

    def dms_to(self, user: str) -> list[Posted]:
        return [m for m in self.messages if m.channel == self.dms.get(user)]

    def _too_fast(self) -> web.Response:
        self.rate_limited += 1
        return web.json_response(
            {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
        )

    def _take_token(self, bucket: str, limit: tuple[int, float] | None = None) -> bool:
        """Slack's limits, enforced once `post_limit` is set, as token buckets: posting per
        channel (`post_limit`), and others by their own `limit` (chat.update's, say)."""
        if self.post_limit is None:
            return True
        burst, per_second = limit or self.post_limit
        now = time.monotonic()
        tokens, at = self._buckets.get(bucket, (float(burst), now))
        tokens = min(burst, tokens + (now - at) * per_second)
        if tokens < 1:
            self._buckets[bucket] = (tokens, now)
            return False
        self._buckets[bucket] = (tokens - 1, now)
        return True

    def _find(self, channel: str, ts: str) -> Posted | None:
        return self._by_ts.get((channel, ts))

    def _next_ts(self) -> str:
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"
