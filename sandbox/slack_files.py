"""Files in the fake Slack: shared by a person, described by `files.info`, and downloaded with
the bot token a piece at a time, as a network hands them over (or cut short, as a dropped
connection does)."""

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.slack_wire import TEAM_ID, error, ok

FILE_PIECE = 16 * 1024  # bytes a download hands over at a time, as a network does


class SlackFiles:
    def __init__(self, app: web.Application, base_url: Callable[[], str], token: str) -> None:
        self._base_url, self._token = base_url, token
        self.files: dict[str, bytes] = {}  # file id -> content, downloadable with the bot token
        self.cut_files: dict[str, int] = {}  # file id -> bytes sent before the connection drops
        self.file_info: dict[str, dict[str, Any]] = {}  # file id -> what files.info answers
        app.router.add_get("/files-pri/{file}/{name}", self.download)

    def share(
        self, file_id: str, name: str, content: bytes, mimetype: str, *, check_info: bool = False
    ) -> dict[str, Any]:
        """A file a person uploads; returns the file object Slack puts in the message event.
        With `check_info` it comes as Slack Connect and some large files do: only an id and
        `file_access: "check_file_info"`, the rest to be read through `files.info`."""
        self.files[file_id] = content
        url = f"{self._base_url()}/files-pri/{TEAM_ID}-{file_id}/{name}"
        self.file_info[file_id] = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "size": len(content),
            "url_private": url,
            "url_private_download": url + "?download=1",
        }
        if check_info:
            return {"id": file_id, "file_access": "check_file_info"}
        return dict(self.file_info[file_id])

    async def info(self, args: dict[str, Any]) -> web.Response:
        found = self.file_info.get(args.get("file", ""))
        return ok(file=found) if found else error("file_not_found")

    async def download(self, request: web.Request) -> web.StreamResponse:
        """Private files need the bot token; without it Slack answers with its login page. A
        file comes with its Content-Length, a piece at a time; one in `cut_files` stops short."""
        if request.headers.get("Authorization") != f"Bearer {self._token}":
            return web.Response(status=302, headers={"Location": "https://fake.slack.com/login"})
        file_id = request.match_info["file"].removeprefix(f"{TEAM_ID}-")
        if file_id not in self.files:
            return web.Response(status=404, text="file not found")
        content = self.files[file_id]
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(content)
        await response.prepare(request)
        end = min(self.cut_files.get(file_id, len(content)), len(content))
        try:
            for start in range(0, end, FILE_PIECE):
                await response.write(content[start : min(start + FILE_PIECE, end)])
                await asyncio.sleep(0.001)  # the next piece is still on its way
        except ConnectionError:  # the app stopped reading (a file over its limit, say)
            return response
        if end < len(content):
            assert request.transport is not None
            request.transport.close()  # the connection drops mid-file
            return response
        await response.write_eof()
        return response
