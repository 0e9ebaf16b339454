"""The sandbox as a page in the browser: the website's chat widget, the support channel as Slack
shows it, App Home and the Membrane calls, side by side, for one of two teammates. The page
(`sandbox/page/`: HTML, CSS and one script, nothing from elsewhere) asks for `state` a few times
a second and sends every act to the playground's routes."""

import json
import re
from pathlib import Path
from typing import Any

from aiohttp import web

import sandbox
from bot.core.posting import post_keys
from bot.trying.playground import CHANNEL, TEAM, Playground, Refused
from sandbox.slack_wire import Posted

PAGE = Path(sandbox.__file__).resolve().parent / "page"  # its HTML, CSS and script
ACTS = (
    "visitor", "trigger", "close", "reply", "edit", "delete", "react", "home", "command",
    "click", "submit", "cancel", "decide",
)  # fmt: skip
FILES = {"page.js": "text/javascript", "page.css": "text/css"}
_CARD_NAME = re.compile(r"\*(.+?)\*")


def text_as_text(data: Any, status: int = 200) -> web.Response:
    """JSON with text as text: no \\uXXXX for what can be printed."""
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def add_routes(app: web.Application, play: Playground) -> None:
    """The page, its state, and each act (POST /sandbox/<act>, a JSON object in and out)."""

    def act(name: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            try:
                said = json.loads(await request.read())
            except ValueError:
                said = None
            try:
                if not isinstance(said, dict):
                    raise Refused('send a JSON object with text, such as {"text": "..."}')
                return text_as_text(await getattr(play, name)(said))
            except Refused as refused:
                return web.Response(status=400, text=f"{refused}\n")

        return handle

    for name in ACTS:
        app.router.add_post(f"/sandbox/{name}", act(name))
    app.router.add_get("/sandbox/chats", lambda _: _json(play.chats()))
    app.router.add_get("/sandbox/channel", lambda _: _json(channel(play)))
    app.router.add_get("/sandbox/state", lambda request: _json(state(play, request)))
    app.router.add_get("/", lambda _: web.FileResponse(PAGE / "index.html"))
    app.router.add_get("/page/{file}", _asset)


async def _json(data: Any) -> web.Response:
    return text_as_text(data)


async def _asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["file"]
    if name not in FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(PAGE / name, headers={"Content-Type": FILES[name]})


def channel(play: Playground) -> list[dict[str, Any]]:
    """The support channel for scripts: each card, what it opens with, its thread."""
    slack = play.slack
    return [
        {
            "ts": card.ts,
            "card": card.text,
            "opens_with": card.joined,
            "replies": [
                {"ts": r.ts, "from": r.author or r.user or "bridge", "text": r.text}
                for r in slack.replies(CHANNEL, card.ts)
            ],
            "only_you_see": [
                told["text"] for told in slack.ephemeral_posts if told.get("thread_ts") == card.ts
            ],
        }
        for card in slack.parents(CHANNEL)
    ]


def state(play: Playground, request: web.Request) -> dict[str, Any]:
    """Everything the page shows to one teammate (`?user=`)."""
    user = request.query.get("user") or next(iter(TEAM))
    slack, membrane = play.slack, play.membrane
    mine = [
        {"index": n, "thread_ts": told.get("thread_ts"), "text": told.get("text") or "",
         "blocks": told.get("blocks"), "answered": n in play.answered}
        for n, told in enumerate(slack.ephemeral_posts)
        if told.get("user") == user
    ]  # fmt: skip
    posts = [_post(post, slack.replies(CHANNEL, post.ts), mine) for post in slack.parents(CHANNEL)]
    modal = next(
        (
            view
            for view_id, view in reversed(slack.views.items())
            if play.triggers.get(slack.views_opened.get(view_id, "")) == user
        ),
        None,
    )
    return {
        "team": [{"id": i, "name": p["profile"]["display_name"]} for i, p in TEAM.items()],
        "posts": posts,
        "only_you": [told for told in mine if not told["thread_ts"]],
        "told": [t for t in play.told if t["user"] == user][-3:],
        "dms": [_post(m, [], []) for m in slack.dms_to(user)],
        "home": slack.home.get(user),
        "modal": modal,
        "widget": play.chats() | {"names": play.names},
        "membrane": [{"action": key, "input": given} for key, given in membrane.runs[-40:]],
    }


def _post(post: Posted, replies: list[Posted], mine: list[dict[str, Any]]) -> dict[str, Any]:
    by_name = {name: sorted(users) for name, users in post.people.items() if users}
    for name in post.reactions:
        by_name.setdefault(name, []).append("the bridge")
    return {
        "ts": post.ts,
        "text": post.text,
        "blocks": post.blocks,
        "author": post.author or (TEAM.get(post.user or "", {}).get("name") if post.user else None),
        "user": post.user,
        "icon": post.args.get("icon_emoji"),
        "edited": bool(post.history),
        "card": _card_name(post),
        "reactions": by_name,
        "replies": [_post(reply, [], []) for reply in replies],
        "only_you": [told for told in mine if told["thread_ts"] == post.ts],
    }


def _card_name(post: Posted) -> str | None:
    """A chat's card is named by its visitor, as its first line shows them."""
    if not any(post_keys.is_card(key) for key in post.keys) or not post.blocks:
        return None
    first = post.blocks[0].get("text", {}).get("text", "")
    found = _CARD_NAME.search(first)
    return _unescaped(found[1]) if found else None


def _unescaped(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
