"""`chatra-bridge check`: is a real setup ready? Each finding says what is wrong in plain words
and what to do about it. Exit code 0 when all is well, 1 otherwise; `--json` for machines."""

import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clients.action_shapes import ACTIONS, ActionShape, default_shape, shape_from_definition
from bot.clients.membrane import HttpTransport, MembraneClient, Transport
from bot.config import Settings, SettingsError
from bot.core.errors import MembraneError
from bot.running.wiring import membrane_transport, policy_of
from storage.database import is_url
from storage.opening import database_problem

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
    "reactions:read",
    "files:read",
    "usergroups:read",
    "channels:read",
    "groups:read",
)


@dataclass
class Finding:
    check: str
    ok: bool
    detail: str


CHECK_TIMEOUT = 10.0  # seconds for each call: a service that never answers is a finding too
NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


async def run_checks(
    settings: Settings, tell: Callable[[Finding], None] = lambda finding: None
) -> list[Finding]:
    """Every finding, each handed to `tell` as soon as it is known (a silent service takes
    CHECK_TIMEOUT: the findings before it are not held back meanwhile)."""
    findings: list[Finding] = []

    def found(more: Finding | list[Finding]) -> None:
        for finding in more if isinstance(more, list) else [more]:
            findings.append(finding)
            tell(finding)

    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        slack = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url.rstrip("/") + "/",
            session=session,
        )
        found(await _slack(slack, settings))
        if settings.slack_app_token is not None:
            app_token = settings.slack_app_token.get_secret_value()
            found(await _socket_mode(slack, app_token, settings.slack_api_url))
        transport = membrane_transport(settings, session)
        if isinstance(transport, HttpTransport):
            found(await _membrane(transport, settings))
        else:
            found(await _membrane_by_cli(transport, settings))
    found(await asyncio.to_thread(_database, settings))  # statements: off the loop
    found(_webhook(settings))
    return findings


def _unreachable(what: str, url: str, error: BaseException, setting: str) -> str:
    reason = "no answer" if isinstance(error, TimeoutError) else type(error).__name__
    return f"cannot reach {what} at {url} ({reason}): check the network and {setting}"


def _not_slack(error: SlackApiError) -> bool:
    """Whatever answered is no Slack Web API: Slack always answers JSON with `ok`."""
    data = error.response.data
    return not isinstance(data, dict) or "ok" not in data


async def _slack(slack: AsyncWebClient, settings: Settings) -> list[Finding]:
    url = settings.slack_api_url
    try:
        auth = await slack.auth_test()
    except SlackApiError as error:
        if _not_slack(error):
            status = error.response.status_code
            why = f"no Slack Web API at {url} (HTTP {status}): check SLACK_API_URL"
            return [Finding("Slack token", False, why)]
        reason = error.response.get("error")
        why = f"Slack refused SLACK_BOT_TOKEN ({reason}): copy the Bot User OAuth Token again"
        return [Finding("Slack token", False, why)]
    except NETWORK_ERRORS as error:
        return [Finding("Slack token", False, _unreachable("Slack", url, error, "SLACK_API_URL"))]
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
    for channel in policy_of(settings).channels:  # SLACK_CHANNEL_ID, then the routed ones
        findings.append(await _channel(slack, channel, url))
    return findings


async def _channel(slack: AsyncWebClient, channel: str, url: str) -> Finding:
    """The bot reads and posts in `channel` (SLACK_CHANNEL_ID, or one CHANNEL_ROUTES names)."""
    try:
        await slack.conversations_history(channel=channel, limit=1)
    except SlackApiError as error:
        reason = error.response.get("error")
        advice = {
            "not_in_channel": f"the bot is not in {channel}: /invite @Chatra there",
            "channel_not_found": f"no channel {channel} the bot can see: check SLACK_CHANNEL_ID"
            " and CHANNEL_ROUTES, and invite the bot if it is private",
        }.get(str(reason), f"Slack answered {reason} for {channel}")
        return Finding("Slack channel", False, advice)
    except NETWORK_ERRORS as error:
        return Finding("Slack channel", False, _unreachable("Slack", url, error, "SLACK_API_URL"))
    return Finding("Slack channel", True, f"the bot is in {channel}")


async def _socket_mode(slack: AsyncWebClient, app_token: str, url: str) -> Finding:
    """Socket Mode needs Slack to hand out a websocket for the app-level token."""
    try:
        await slack.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        reason = "not a Slack answer" if _not_slack(error) else error.response.get("error")
        why = (
            f"Slack refused SLACK_APP_TOKEN ({reason}): create an app-level token with"
            " connections:write (Basic Information -> App-Level Tokens) and enable Socket Mode"
        )
        return Finding("Slack app token", False, why)
    except NETWORK_ERRORS as error:
        return Finding("Slack app token", False, _unreachable("Slack", url, error, "SLACK_API_URL"))
    return Finding("Slack app token", True, "Socket Mode connections open with SLACK_APP_TOKEN")


async def _membrane(transport: HttpTransport, settings: Settings) -> list[Finding]:
    connection = settings.membrane_connection_id
    url = settings.membrane_api_url
    try:
        status, body = await transport.read()
    except NETWORK_ERRORS as error:
        why = _unreachable("Membrane", url, error, "MEMBRANE_API_URL")
        return [Finding("Membrane connection", False, why)]
    if not isinstance(body, dict) or ("type" not in body and status >= 300):
        why = f"no Membrane API at {url} (HTTP {status}): check MEMBRANE_API_URL"
        return [Finding("Membrane connection", False, why)]
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
    shapes = {}
    for action in ACTIONS:
        try:
            definition = await transport.definition(action)
        except MembraneError as error:
            findings.append(Finding(f"action {action}", False, str(error)))
            continue
        shapes[action] = shape_from_definition(action, definition)
        findings.append(_action_finding(action, definition, shapes[action]))
    if "send-agent-message" in shapes:
        findings.append(_agent_identity(settings, shapes["send-agent-message"]))
    findings.append(await _online_action(transport, settings))
    return findings


ONLINE = "Online in Chatra"
CREATE_ONLINE = (
    "membrane action create \"Set a Chatra agent online for 2-3 minutes (Chatra's"
    ' agentOnlinePing): the agent by agentId, or by agentEmail, agentName and receivedFrom"'
    " --connectionId={connection}, then `membrane action get <id> --wait`, and set"
    " CHATRA_ONLINE_ACTION to its key"
)


def _how_to_make_online(settings: Settings) -> str:
    return CREATE_ONLINE.format(connection=settings.membrane_connection_id)


def _online_off(settings: Settings) -> Finding | None:
    if settings.chatra_online_action:
        return None
    make = _how_to_make_online(settings)
    why = "off (CHATRA_ONLINE_ACTION is not set): Chatra shows the team offline while it answers"
    return Finding(ONLINE, True, f"{why} from Slack; to turn it on: {make}")


async def _online_action(transport: HttpTransport, settings: Settings) -> Finding:
    """Whether the action that sets agents online is there, and how it names the agent."""
    off = _online_off(settings)
    if off is not None:
        return off
    action, make = str(settings.chatra_online_action), _how_to_make_online(settings)
    try:
        definition = await transport.definition(action)
    except MembraneError as error:
        return Finding(ONLINE, False, str(error))
    if definition is None:
        return Finding(ONLINE, False, f"the connection has no action {action}: {make}")
    shape = shape_from_definition(action, definition)
    if not (shape.can_send("agent") or shape.names_agents_by_email()):
        why = f"{action} takes no agentId, nor agentEmail and agentName ({shape.describe()})"
        return Finding(ONLINE, False, f"{why}: {make}")
    every = f"every {settings.chatra_online_every_seconds:.0f} s"
    return Finding(
        ONLINE, True, f"{action} shows agents on duty online {every}: {shape.describe()}"
    )


def _action_finding(action: str, definition: Any, shape: ActionShape) -> Finding:
    """Whether the action is there and where each field the bridge sends will go."""
    name = f"action {action}"
    if definition is None:
        why = "not on the connection: add it to the Chatra connector, or name its id in"
        return Finding(name, False, f"{why} MEMBRANE_ACTION_IDS")
    problems = []
    if shape.unplaced:
        problems.append(f"its input has no home for {', '.join(shape.unplaced)}")
    if shape.unsent:
        problems.append(f"it requires {', '.join(shape.unsent)}, which the bridge does not send")
    if problems:
        return Finding(name, False, "; ".join(problems) + f" (inputs: {shape.describe()})")
    return Finding(name, True, f"inputs: {shape.describe()}")


def _agent_identity(settings: Settings, send: ActionShape) -> Finding:
    """Chatra refuses an agent message from nobody: can every Slack user be named?"""
    if settings.chatra_default_agent_id:
        detail = (
            f"people with no linked Chatra agent write as agent {settings.chatra_default_agent_id}"
        )
        return Finding("Agent identity", True, detail)
    if not all(send.can_send(f) for f in ("agent_email", "agent_name", "received_from")):
        return Finding(
            "Agent identity",
            False,
            "a Slack user with no linked Chatra agent would write as nobody (send-agent-message"
            " takes no agentEmail/agentName here): set CHATRA_DEFAULT_AGENT_ID, or link each"
            " person with /chatra agent",
        )
    return Finding(
        "Agent identity",
        True,
        "people with no linked Chatra agent write under their Slack name and email; one whose"
        " Slack profile shows no email cannot reply until linked (/chatra agent) or until"
        " CHATRA_DEFAULT_AGENT_ID is set",
    )


async def _membrane_by_cli(transport: Transport, settings: Settings) -> list[Finding]:
    """The CLI keeps its own login: ask Chatra for a visitor that does not exist."""
    mark = settings.chatra_received_from
    client = MembraneClient(transport, attempts=1, base_delay=0, received_from=mark)
    try:
        await client.get_client("chatra-bridge-check")
    except MembraneError as error:
        if error.kind != "dependency_error":  # "not found" from Chatra: the way is open
            return [Finding("Membrane connection", False, str(error))]
    mapping = "; ".join(f"{a}: {default_shape(a).describe()}" for a in ACTIONS)
    online = _online_off(settings) or Finding(
        ONLINE, True, f"{settings.chatra_online_action}: not checked (no schema through the CLI)"
    )
    return [
        Finding("Membrane connection", True, "Chatra answers through membrane"),
        Finding("Actions", True, f"the membrane command publishes no schema: {mapping}"),
        online,
    ]


def _database(settings: Settings) -> Finding:
    """Can the bridge use its database? Creates and changes nothing: a SQLite file not there yet
    is one `serve` will create."""
    where, named = settings.database(), settings.database_named()
    if not is_url(where) and not Path(where).exists():
        folder = Path(where).resolve().parent
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            why = f"{named} cannot be created: {folder} is not a folder this user can write in"
            return Finding("Database", False, why)
        return Finding("Database", True, f"{named} is not there yet: serve creates it")
    problem = database_problem(where, change=False)
    if problem is not None:
        return Finding("Database", False, f"{named} {problem}")
    return Finding("Database", True, f"{named} is writable")


def _webhook(settings: Settings) -> Finding:
    secret = settings.chatra_webhook_secret.get_secret_value()
    if settings.public_url:
        url = f"{settings.public_url.rstrip('/')}/chatra/webhook/{secret}"
        return Finding("Chatra webhook", True, f"paste into Chatra's webhook settings: {url}")
    url = f"https://<your host>/chatra/webhook/{secret}"
    return Finding("Chatra webhook", True, f"{url} (set PUBLIC_URL to have it spelled out)")


def line_of(finding: Finding) -> str:
    return f"{'✔' if finding.ok else '✘'} {finding.check}: {finding.detail}"


def summary(findings: list[Finding]) -> str:
    problems = sum(not f.ok for f in findings)
    return "All good." if not problems else f"{problems} problem{'s' * (problems > 1)} to fix."


def report(findings: list[Finding], as_json: bool) -> str:
    if as_json:
        ok = all(f.ok for f in findings)
        return json.dumps({"ok": ok, "checks": [asdict(f) for f in findings]}, indent=2)
    return "\n".join([*map(line_of, findings), summary(findings)])


def check(settings: Settings, as_json: bool) -> int:
    """Text: each finding printed as it comes. JSON: one document at the end."""

    def tell(finding: Finding) -> None:
        if not as_json:
            print(line_of(finding), flush=True)

    findings = asyncio.run(run_checks(settings, tell))
    print(report(findings, as_json) if as_json else summary(findings))
    return 0 if all(f.ok for f in findings) else 1


def settings_refused(error: SettingsError, as_json: bool) -> int:
    """Settings that cannot even be read are a finding too (JSON on stdout when asked)."""
    if as_json:
        print(report([Finding("Settings", False, "; ".join(error.problems))], as_json=True))
    else:
        print(error.described("Not ready"), file=sys.stderr)
    return 1
