"""`chatra-bridge check`: is a real setup ready? Each finding says what is wrong in plain words
and what to do about it. Exit code 0 when all is well, 1 otherwise; `--json` for machines."""

import asyncio
import json
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import membrane_transport
from bot.config import Settings
from bot.errors import MembraneError
from bot.membrane import ACTION_FIELDS, HttpTransport, MembraneClient, Transport
from storage import open_database

# The bot scopes manifest.yml asks for (a test keeps the two the same).
SCOPES = (
    "chat:write",
    "chat:write.customize",
    "channels:history",
    "groups:history",
    "commands",
    "users:read",
    "users:read.email",
    "reactions:write",
    "files:read",
    "im:write",
    "usergroups:read",
)


@dataclass
class Finding:
    check: str
    ok: bool
    detail: str


async def run_checks(settings: Settings) -> list[Finding]:
    findings: list[Finding] = []
    async with aiohttp.ClientSession() as session:
        slack = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url.rstrip("/") + "/",
            session=session,
        )
        findings += await _slack(slack, settings.slack_channel_id)
        transport = membrane_transport(settings, session)
        if isinstance(transport, HttpTransport):
            findings += await _membrane(transport, settings)
        else:
            findings += await _membrane_by_cli(transport)
    findings.append(_database(settings.database_path))
    findings.append(_webhook(settings))
    return findings


async def _slack(slack: AsyncWebClient, channel: str) -> list[Finding]:
    try:
        auth = await slack.auth_test()
    except SlackApiError as error:
        reason = error.response.get("error")
        return [Finding("Slack token", False, f"Slack refused SLACK_BOT_TOKEN ({reason})")]
    findings = [Finding("Slack token", True, f"bot @{auth['user']} in {auth['team']}")]
    granted = set(filter(None, (auth.headers.get("x-oauth-scopes") or "").split(",")))
    missing = [scope for scope in SCOPES if scope not in granted]
    findings.append(
        Finding(
            "Slack scopes",
            not missing,
            "all that manifest.yml asks for"
            if not missing
            else f"missing {', '.join(missing)}: update the app from manifest.yml and reinstall it",
        )
    )
    try:
        await slack.conversations_history(channel=channel, limit=1)
        findings.append(Finding("Slack channel", True, f"the bot is in {channel}"))
    except SlackApiError as error:
        reason = error.response.get("error")
        advice = {
            "not_in_channel": f"the bot is not in {channel}: /invite @Chatra there",
            "channel_not_found": f"no channel {channel} the bot can see: check SLACK_CHANNEL_ID,"
            " and invite the bot if it is private",
        }.get(str(reason), f"Slack answered {reason} for {channel}")
        findings.append(Finding("Slack channel", False, advice))
    return findings


async def _membrane(transport: HttpTransport, settings: Settings) -> list[Finding]:
    connection = settings.membrane_connection_id
    try:
        status, body = await transport.read()
    except (aiohttp.ClientError, TimeoutError) as error:
        reason = f"cannot reach {settings.membrane_api_url} ({type(error).__name__})"
        return [Finding("Membrane connection", False, reason)]
    if status in (401, 403):
        why = "Membrane refused the token: check MEMBRANE_TOKEN or the workspace keys"
        return [Finding("Membrane connection", False, why)]
    if status == 404:
        why = f"Membrane knows no connection {connection}: check MEMBRANE_CONNECTION_ID"
        return [Finding("Membrane connection", False, why)]
    if status >= 300 or not isinstance(body, dict):
        return [Finding("Membrane connection", False, f"Membrane answered HTTP {status}")]
    if body.get("disconnected"):
        why = f"connection {connection} is disconnected: reconnect Chatra in Membrane"
        return [Finding("Membrane connection", False, why)]
    findings = [Finding("Membrane connection", True, f"connection {connection} is connected")]
    for action, fields in ACTION_FIELDS.items():
        status, body = await transport.read(f"/actions/{action}")
        findings.append(_action_finding(action, fields, status, body))
    return findings


def _action_finding(action: str, fields: tuple[str, ...], status: int, body: Any) -> Finding:
    name = f"action {action}"
    if status == 404:
        return Finding(name, False, "not on the connection: add it to the Chatra connector")
    if status >= 300 or not isinstance(body, dict):
        return Finding(name, False, f"Membrane answered HTTP {status}")
    schema = body.get("inputSchema") or {}
    known = set((schema.get("properties") or {}).keys())
    unknown = [f for f in fields if known and f not in known]
    unsent = [f for f in schema.get("required") or [] if f not in fields]
    problems = [f"its input has no {', '.join(unknown)}"] if unknown else []
    if unsent:
        problems.append(f"it requires {', '.join(unsent)}, which the bridge does not send")
    if problems:
        return Finding(name, False, "; ".join(problems))
    return Finding(name, True, "present, input as expected")


async def _membrane_by_cli(transport: Transport) -> list[Finding]:
    """The CLI keeps its own login: ask Chatra for a visitor that does not exist."""
    client = MembraneClient(transport, attempts=1)
    try:
        await client.get_client("chatra-bridge-check")
    except MembraneError as error:
        if error.kind == "dependency_error":  # Chatra answered "not found": the way is open
            return [Finding("Membrane connection", True, "Chatra answers through membrane")]
        return [Finding("Membrane connection", False, str(error))]
    return [Finding("Membrane connection", True, "Chatra answers through membrane")]


def _database(path: str) -> Finding:
    try:
        db = open_database(path)
        db.conn.execute("BEGIN IMMEDIATE")  # takes the write lock: the file is writable
        db.conn.execute("ROLLBACK")
        db.close()
    except (sqlite3.Error, OSError) as error:
        return Finding("Database", False, f"{path} is not writable: {error}")
    return Finding("Database", True, f"{path} is writable")


def _webhook(settings: Settings) -> Finding:
    secret = settings.chatra_webhook_secret.get_secret_value()
    if settings.public_url:
        url = f"{settings.public_url.rstrip('/')}/chatra/webhook/{secret}"
        return Finding("Chatra webhook", True, f"paste into Chatra's webhook settings: {url}")
    url = f"https://<your host>/chatra/webhook/{secret}"
    return Finding("Chatra webhook", True, f"{url} (set PUBLIC_URL to have it spelled out)")


def report(findings: list[Finding], as_json: bool) -> str:
    ok = all(f.ok for f in findings)
    if as_json:
        return json.dumps({"ok": ok, "checks": [asdict(f) for f in findings]}, indent=2)
    lines = [f"{'✔' if f.ok else '✘'} {f.check}: {f.detail}" for f in findings]
    problems = sum(not f.ok for f in findings)
    lines.append("All good." if ok else f"{problems} problem{'s' * (problems > 1)} to fix.")
    return "\n".join(lines)


def check(settings: Settings, as_json: bool) -> int:
    findings = asyncio.run(run_checks(settings))
    print(report(findings, as_json))
    return 0 if all(f.ok for f in findings) else 1
