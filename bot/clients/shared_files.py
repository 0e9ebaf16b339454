"""Files a person shares in a chat's thread, made reachable for the visitor.

Slack keeps files private (a bot token is needed to read them), so the bridge downloads each one
and serves it itself under PUBLIC_URL, at an address nobody can guess and that stays the same
for the same file: a resend carries the very same link. The files are kept in the database, so
every bridge on it serves every link.
"""

import asyncio
import hashlib
import hmac
import logging
import re
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from bot.core.errors import FileNotShared
from bot.core.wire.slack import SharedFile
from storage.files import CHART, Files, StoredFile

log = logging.getLogger(__name__)
MAX_FILE_BYTES = 20 * 1024 * 1024
TOKEN = re.compile(r"[0-9a-f]{40}")
LINKED = re.compile(r"/files/([0-9a-f]{40})/")


class SharedFiles:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        bot_token: str,
        slack_api_url: str,
        files: Files,
        public_url: str | None,
        secret: str,
        file_info: Callable[[str], Awaitable[dict[str, Any] | None]],
        keep_days: float,
        max_bytes: int,
    ) -> None:
        self._file_info = file_info
        self._session = session
        self._bot_token = bot_token
        # The token goes over https to Slack's own file host, or to the origin SLACK_API_URL
        # names (a sandbox's): never to another port, scheme or host.
        self._origins = {("https", "files.slack.com", 443), _origin(slack_api_url)}
        self._keep_seconds, self._max_bytes = keep_days * 86400, max_bytes
        self._files = files
        self._public_url = public_url.rstrip("/") if public_url else None
        self._key = hashlib.sha256(b"shared-files:" + secret.encode()).digest()

    async def publish(self, file: SharedFile) -> SharedFile:
        """Download `file` from Slack; the file as the visitor gets it: its name, and the link
        they can open as its url."""
        if self._public_url is None:
            raise FileNotShared("Slack keeps files private and PUBLIC_URL is not set.")
        if not file.url:
            file = await self._described(file)
        if _origin(file.url) not in self._origins:
            raise FileNotShared("It is not stored by Slack (not over https on Slack's host).")
        token = hmac.new(self._key, file.id.encode(), hashlib.sha256).hexdigest()[:40]
        name = _safe_name(file.name)
        if not await self._files.has(token):
            await self._download(file, token, name)
        link = f"{self._public_url}/files/{token}/{quote(name)}"
        return SharedFile(id=file.id, name=file.name, url=link, mimetype=file.mimetype)

    async def keep(self, name: str, body: bytes) -> str | None:
        """Serve `body` (a file the bridge made: App Home's chart) at an address nobody can
        guess, the same for the same bytes (Slack caches an image by its URL); None without
        PUBLIC_URL."""
        if self._public_url is None:
            return None
        token = hmac.new(self._key, body, hashlib.sha256).hexdigest()[:40]
        if not await self._files.has(token):  # once per content; never counted as shared
            await self._files.put(token, name, body, time.time(), kind=CHART)
        return f"{self._public_url}/files/{token}/{quote(name)}"

    async def _described(self, file: SharedFile) -> SharedFile:
        """A file Slack sent without its URL, as files.info describes it."""
        info = await self._file_info(file.id)
        url = (info or {}).get("url_private_download") or (info or {}).get("url_private")
        if not url:
            raise FileNotShared("Slack would not say where it is (files.info).")
        name = info.get("name") or info.get("title") or file.name
        return SharedFile(id=file.id, name=str(name), url=str(url), mimetype=info.get("mimetype"))

    async def _download(self, file: SharedFile, token: str, name: str) -> None:
        headers = {"Authorization": f"Bearer {self._bot_token}"}
        try:
            async with self._session.get(file.url, headers=headers) as response:
                if response.status != 200:
                    raise FileNotShared(f"Slack did not hand it over (HTTP {response.status}).")
                body = await _whole(response)
        except aiohttp.ClientPayloadError:
            raise FileNotShared("It arrived cut short (the connection dropped).") from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise FileNotShared(f"Slack could not be reached ({type(error).__name__}).") from None
        await self._files.put(token, name, body, time.time())
        log.info("file %s kept for the visitor (%d bytes)", file.id, len(body))
        await self.prune()

    async def prune(self, now: float | None = None) -> int:
        """Delete the files kept longer than FILES_RETENTION_DAYS, then the oldest while all of
        them take more than FILES_MAX_MB; how many went."""
        now = time.time() if now is None else now
        gone = await self._files.prune(now - self._keep_seconds, self._max_bytes)
        if gone:
            log.info("%d shared files deleted: past FILES_RETENTION_DAYS or FILES_MAX_MB", gone)
        return gone

    async def forget(self, text: str) -> None:
        """Delete the files `text` links to: the reply that shared them is gone."""
        tokens = sorted(set(LINKED.findall(text)))
        if tokens:
            await self._files.forget(tokens)

    async def stored(self, token: str) -> StoredFile | None:
        """The stored file behind a link's token, if there is one."""
        return await self._files.get(token) if TOKEN.fullmatch(token) else None

    async def adopt(self, directory: Path) -> int:
        """Files kept in `directory` by an earlier chatra-bridge, moved into the database (their
        links keep working); how many."""
        moved = 0
        for folder, found in await asyncio.to_thread(_kept_in, directory):
            if found is not None:
                body = await asyncio.to_thread(found.read_bytes)
                await self._files.put(folder.name, found.name, body, found.stat().st_mtime)
                moved += 1
            await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
        if moved:
            log.info("%d shared files moved from %s into the database", moved, directory)
        return moved


async def _whole(response: aiohttp.ClientResponse) -> bytes:
    """Every byte of the body, read to its end (one read returns only what has arrived so far),
    at most MAX_FILE_BYTES, and as many as Content-Length promised."""
    promised = response.content_length
    if (promised or 0) > MAX_FILE_BYTES:
        raise FileNotShared("It is over 20 MB.")
    body = bytearray()
    async for piece in response.content.iter_chunked(256 * 1024):
        body += piece
        if len(body) > MAX_FILE_BYTES:
            raise FileNotShared("It is over 20 MB.")
    encoded = response.headers.get("Content-Encoding", "identity") != "identity"
    if promised is not None and not encoded and len(body) != promised:  # a gzip length differs
        raise FileNotShared(f"It arrived cut short ({len(body):,} of {promised:,} bytes).")
    return bytes(body)


def _kept_in(directory: Path) -> list[tuple[Path, Path | None]]:
    """The folders an earlier version kept files in (one per file, named by its token), each
    with the file it holds (None: a download that never finished)."""
    folders = (
        [f for f in directory.glob("*") if TOKEN.fullmatch(f.name)] if directory.is_dir() else []
    )
    return [
        (folder, next((p for p in folder.glob("*") if not p.name.endswith(".part")), None))
        for folder in folders
    ]


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\- ]", "_", name).strip(" .") or "file"
    return cleaned[:120]
