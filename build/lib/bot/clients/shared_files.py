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


class SharedFiles:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        bot_token: str,
        slack_hosts: set[str],
        directory: Path,
        public_url: str | None,
        secret: str,
        file_info: Callable[[str], Awaitable[dict[str, Any] | None]],
    ) -> None:
        self._file_info = file_info
        self._session = session
        self._bot_token = bot_token
        self._slack_hosts = slack_hosts
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
        if urlsplit(file.url).hostname not in self._slack_hosts:
            raise FileNotShared("It is not stored by Slack.")
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

    def path_of(self, token: str) -> Path | None:
        """The stored file behind a link's token, if there is one."""
        if not TOKEN.fullmatch(token):
            return None
        folder = self.directory / token
        found = [p for p in folder.glob("*") if not p.name.endswith(".part")]
        return found[0] if found else None


def _store(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(body)
    partial.replace(path)  # whole or absent, never half a file


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\- ]", "_", name).strip(" .") or "file"
    return cleaned[:120]
