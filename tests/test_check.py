"""`chatra-bridge check`: a real setup verified, what is wrong said in plain words."""

import asyncio
import json
import re
import socket
import sys
from pathlib import Path

from pydantic import SecretStr

import sandbox.membrane
import sandbox.slack
from bot.operating.check import ONLINE, SCOPES, report, run_checks
from sandbox.membrane_wire import ONLINE_ACTION
from sandbox.slack_wire import manifest_scopes
from tests.conftest import CHANNEL
from tests.helpers import findings_by_check

ROOT = Path(__file__).resolve().parent.parent


async def test_a_ready_setup_passes_every_check_and_exits_0(settings, slack, membrane, tmp_path):
    env = check_env(settings, slack, membrane, tmp_path)
    env |= {
        "PUBLIC_URL": "https://bridge.example.org",
        "DATABASE_PATH": str(tmp_path / "bridge.db"),
    }
    code, out, _ = await run_check(env, tmp_path, "--json")
    assert code == 0, out
    checks = json.loads(out)["checks"]
    assert all(check["ok"] for check in checks)
    assert [c["check"] for c in checks][:4] == [
        "Slack token",
        "Slack scopes",
        "Slack channel",
        "Membrane connection",
    ]
    assert sum(c["check"].startswith("action ") for c in checks) == 10
    by_check = {c["check"]: c["detail"] for c in checks}
    assert by_check["action send-agent-message"] == (
        "inputs: client→clientId, text→text, agent→agentId, agent_email→agentEmail,"
        " agent_name→agentName, received_from→receivedFrom (from its schema)"
    )
    assert "write under their Slack name and email" in by_check["Agent identity"]
    assert checks[-1]["detail"] == (
        "paste into Chatra's webhook settings:"
        f" https://bridge.example.org/chatra/webhook/{env['CHATRA_WEBHOOK_SECRET']}"
    )
    assert by_check["Database"] == (
        f"{tmp_path / 'bridge.db'} (DATABASE_PATH) is not there yet: serve creates it"
    )
    assert list(tmp_path.iterdir()) == []  # check creates nothing


def check_env(settings, slack, membrane, tmp_path) -> dict[str, str]:
    return {
        "PATH": str(Path(sys.executable).parent),
        "SLACK_BOT_TOKEN": settings.slack_bot_token.get_secret_value(),
        "SLACK_SIGNING_SECRET": "x" * 16,
        "SLACK_CHANNEL_ID": CHANNEL,
        "SLACK_API_URL": slack.api_url,
        "MEMBRANE_CONNECTION_ID": settings.membrane_connection_id,
        "MEMBRANE_TOKEN": settings.membrane_token.get_secret_value(),
        "MEMBRANE_API_URL": membrane.url,
        "CHATRA_WEBHOOK_SECRET": settings.chatra_webhook_secret.get_secret_value(),
    }


async def run_check(env: dict[str, str], cwd: Path, *flags: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        "chatra-bridge", "check", *flags, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_settings_that_cannot_be_read_are_findings_in_json_too(
    settings, slack, membrane, tmp_path
):
    env = check_env(settings, slack, membrane, tmp_path)
    del env["SLACK_BOT_TOKEN"]
    code, out, _ = await run_check(env, tmp_path, "--json")
    assert code == 1
    assert json.loads(out) == {
        "ok": False,
        "checks": [
            {
                "check": "Settings",
                "ok": False,
                "detail": "SLACK_BOT_TOKEN: missing (set it in the environment or in .env)",
            }
        ],
    }
    code, out, err = await run_check(env, tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith("Not ready: fix these settings:\n  - SLACK_BOT_TOKEN: missing")
    assert list(tmp_path.iterdir()) == []


async def test_each_finding_is_printed_as_it_comes_while_a_service_is_silent(
    settings, slack, membrane, tmp_path
):
    silent = socket.create_server(("127.0.0.1", 0))  # takes connections, never answers
    env = check_env(settings, slack, membrane, tmp_path)
    env["MEMBRANE_API_URL"] = f"http://127.0.0.1:{silent.getsockname()[1]}"
    process = await asyncio.create_subprocess_exec(
        "chatra-bridge", "check", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), 30)  # however slow to start
        assert first.decode().startswith("✔ Slack token: bot @")
        assert process.returncode is None  # said while still waiting for Membrane (10 s)
    finally:
        process.kill()
        await process.wait()
        silent.close()


async def test_each_problem_is_named_with_what_to_do(
    settings, slack, membrane, monkeypatch, tmp_path
):
    slack.scopes.discard("usergroups:read")
    slack.channels.discard(CHANNEL)
    slack.other_channels.add(CHANNEL)
    membrane.disconnected = True
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    unreachable = {"database_url": SecretStr("postgresql://bridge:pw@127.0.0.1:1/gone")}
    broken = settings.model_copy(
        update=unreachable if settings.database_url else {"database_path": str(blocked / "x.db")}
    )

    findings = findings_by_check(await run_checks(broken))
    assert findings["Slack scopes"] == (
        False,
        "missing usergroups:read: update the app from manifest.yml and reinstall it",
    )
    assert findings["Slack channel"] == (
        False,
        f"the bot is not in {CHANNEL}: /invite @Chatra there",
    )
    assert findings["Membrane connection"] == (
        False,
        "connection conn-chatra-1 is disconnected: reconnect Chatra in Membrane",
    )
    assert findings["Database"][0] is False
    assert re.search("cannot be (opened|created)", findings["Database"][1])
    assert "pw" not in findings["Database"][1]
    text = report(await run_checks(broken), as_json=False)
    assert text.splitlines()[-1] == "4 problems to fix." and "✘ Slack channel" in text

    membrane.disconnected = False
    monkeypatch.delitem(sandbox.membrane.INPUTS, "get-pushed-message")
    monkeypatch.setitem(sandbox.membrane.INPUTS, "get-client", (("clientId", "fields"), ()))
    findings = findings_by_check(await run_checks(settings))
    assert findings["action get-pushed-message"] == (
        False,
        "not on the connection: add it to the Chatra connector, or name its id in"
        " MEMBRANE_ACTION_IDS",
    )
    assert findings["action get-client"] == (
        False,
        "it requires fields, which the bridge does not send (inputs: client→clientId (from its"
        " schema))",
    )

    membrane.rename("edit-agent-message", messageId="id", text="content")
    membrane.rename("send-agent-message", agentEmail="email_of_agent")
    findings = findings_by_check(await run_checks(settings))
    assert findings["action edit-agent-message"] == (
        False,
        "its input has no home for text; it requires content, which the bridge does not send"
        " (inputs: message→id (from its schema))",
    )
    assert findings["action delete-agent-message"] == (
        True,
        "inputs: message→messageId (from its schema)",
    )
    ok, words = findings["Agent identity"]
    assert not ok and "would write as nobody" in words and "CHATRA_DEFAULT_AGENT_ID" in words
    with_default = settings.model_copy(update={"chatra_default_agent_id": "a9"})
    assert findings_by_check(await run_checks(with_default))["Agent identity"] == (
        True,
        "people with no linked Chatra agent write as agent a9",
    )

    membrane.tokens = {"some.other.token"}
    findings = findings_by_check(await run_checks(settings))
    assert findings["Membrane connection"][1].startswith("Membrane refused the token")


def test_the_manifest_asks_for_the_scopes_check_expects():
    assert manifest_scopes(ROOT / "manifest.yml") == SCOPES


async def test_online_in_chatra_is_one_line_saying_how_to_make_its_action(settings, membrane):
    create = 'membrane action create "Set a Chatra agent online for 2-3 minutes'
    ok, words = findings_by_check(await run_checks(settings))[ONLINE]
    assert ok and words.startswith("off (CHATRA_ONLINE_ACTION is not set)")
    assert create in words and "--connectionId=conn-chatra-1" in words

    wanted = settings.model_copy(update={"chatra_online_action": ONLINE_ACTION})
    ok, words = findings_by_check(await run_checks(wanted))[ONLINE]
    assert not ok and words.startswith(f"the connection has no action {ONLINE_ACTION}: {create}")

    membrane.make_online_action()
    assert findings_by_check(await run_checks(wanted))[ONLINE] == (
        True,
        f"{ONLINE_ACTION} shows agents on duty online every 60 s: agent→agentId,"
        " agent_email→agentEmail, agent_name→agentName, received_from→receivedFrom"
        " (from its schema)",
    )
