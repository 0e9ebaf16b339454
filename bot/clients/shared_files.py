"""Files a person shares in a chat's thread, made reachable for the visitor.

Slack keeps files private (a bot token is needed to read them), so the bridge downloads each one
and serves it itself under PUBLIC_URL, at an address nobody can guess and that stays the same
for the same file: a resend carries the very same link.
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
from bot.core.slack_events import SharedFile

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
        directory: Path,
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
        self.directory = directory
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
        folder = self.directory / token
        name = _safe_name(file.name)
        if not (folder / name).exists():
            await self._download(file, folder, name)
        link = f"{self._public_url}/files/{token}/{quote(name)}"
        return SharedFile(id=file.id, name=file.name, url=link, mimetype=file.mimetype)

    async def _described(self, file: SharedFile) -> SharedFile:
        """A file Slack sent without its URL, as files.info describes it."""
        info = await self._file_info(file.id)
        url = (info or {}).get("url_private_download") or (info or {}).get("url_private")
        if not url:
            raise FileNotShared("Slack would not say where it is (files.info).")
        name = info.get("name") or info.get("title") or file.name
        return SharedFile(id=file.id, name=str(name), url=str(url), mimetype=info.get("mimetype"))

    async def _download(self, file: SharedFile, folder: Path, name: str) -> None:
        headers = {"Authorization": f"Bearer {self._bot_token}"}
        try:
            async with self._session.get(file.url, headers=headers) as response:
                if response.status != 200:
                    raise FileNotShared(f"Slack did not hand it over (HTTP {response.status}).")
                if (response.content_length or 0) > MAX_FILE_BYTES:
                    raise FileNotShared("It is over 20 MB.")
                body = await response.content.read(MAX_FILE_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise FileNotShared(f"Slack could not be reached ({type(error).__name__}).") from None
        if len(body) > MAX_FILE_BYTES:
            raise FileNotShared("It is over 20 MB.")
        await asyncio.to_thread(_store, folder / name, body)
        log.info("file %s kept for the visitor (%d bytes)", file.id, len(body))
        await asyncio.to_thread(self.prune)

    def prune(self, now: float | None = None) -> int:
        """Delete the files kept longer than FILES_RETENTION_DAYS, then the oldest while all of
        them take more than FILES_MAX_MB; how many went."""
        now = time.time() if now is None else now
        kept = sorted(
            (folder.stat().st_mtime, folder, _size(folder))
            for folder in self.directory.glob("*")
            if TOKEN.fullmatch(folder.name)
        )
        total, gone = sum(size for _, _, size in kept), 0
        for modified, folder, size in kept:
            if now - modified <= self._keep_seconds and total <= self._max_bytes:
                break
            shutil.rmtree(folder, ignore_errors=True)
            total, gone = total - size, gone + 1
        if gone:
            log.info("%d shared files deleted: past FILES_RETENTION_DAYS or FILES_MAX_MB", gone)
        return gone

    def forget(self, text: str) -> None:
        """Delete the files `text` links to: the reply that shared them is gone."""
        for token in set(LINKED.findall(text)):
            shutil.rmtree(self.directory / token, ignore_errors=True)

    def path_of(self, token: str) -> Path | None:
        """The stored file behind a link's token, if there is one."""
        if not TOKEN.fullmatch(token):
            return None
        folder = self.directory / token
        found = [p for p in folder.glob("*") if not p.name.endswith(".part")]
        return found[0] if found else None


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*") if f.is_file())


def _store(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(body)
    partial.replace(path)  # whole or absent, never half a file


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\- ]", "_", name).strip(" .") or "file"
    return cleaned[:120]
