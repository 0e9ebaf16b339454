"""`chatra-bridge serve` as a newcomer runs it: a real process, settings from the environment."""

import asyncio
import contextlib
import json
import logging
import shlex
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import aiohttp
import pytest

from bot import __version__
from bot.running.logs import JsonFormatter, RedactingFormatter, configure_logging
from sandbox.server import free_port
from tests.conftest import (
    BOT_TOKEN,
    CHANNEL,
    CONNECTION,
    MEMBRANE_TOKEN,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
)
from tests.helpers import chat_event, clean_env, running_sandbox, visitor_says, wait_for

ROOT = Path(__file__).resolve().parent.parent


def serving_env(slack_api_url: str, tmp_path, **settings: str) -> dict[str, str]:
    """What `serve` needs to start against `slack_api_url`, its database in `tmp_path`, with
    `settings` added (the Slack transport's secret, a token to try)."""
    return clean_env(
        **{
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_CHANNEL_ID": CHANNEL,
            "SLACK_API_URL": slack_api_url,
            "MEMBRANE_CONNECTION_ID": "conn",
            "MEMBRANE_TOKEN": MEMBRANE_TOKEN,
            "CHATRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DATABASE_PATH": str(tmp_path / "bridge.db"),
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            **settings,
        }
    )


def serve(cwd, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`serve` run in `cwd` (where a .env may be), as far as it gets."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_missing_settings_stop_start_up_with_one_message_naming_each(tmp_path):
    env = clean_env(SLACK_BOT_TOKEN="xoxp-user-token", SLACK_CHANNEL_ID="#support")
    result = serve(tmp_path, env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for problem in (
        "SLACK_BOT_TOKEN: must be a bot token starting with xoxb-",
        "SLACK_CHANNEL_ID: must be a channel id",
        "MEMBRANE_CONNECTION_ID: missing",
        "CHATRA_WEBHOOK_SECRET: missing",
        "SLACK_SIGNING_SECRET: required",
        "MEMBRANE_TOKEN: required",
    ):
        assert problem in result.stderr
    assert "xoxp-user-token" not in result.stderr


def test_the_env_example_as_it_is_is_refused_naming_each_placeholder(tmp_path):
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    result = serve(tmp_path, clean_env())
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_CHANNEL_ID",
        "MEMBRANE_CONNECTION_ID",
        "MEMBRANE_TOKEN",
        "CHATRA_WEBHOOK_SECRET",
    ):
        assert f"{name}: still the placeholder from .env.example: put your own value" in (
            result.stderr
        )


def test_settings_are_read_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN={BOT_TOKEN}\nSLACK_CHANNEL_ID=nope\n")
    result = serve(tmp_path, clean_env())
    assert "SLACK_BOT_TOKEN" not in result.stderr  # read from .env and valid
    assert "SLACK_CHANNEL_ID: must be a channel id" in result.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "chatra-bridge"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == f"chatra-bridge {__version__}"


async def owed_nothing(http: aiohttp.ClientSession, url: str) -> bool:
    """Whether the bridge at `url` owes Slack nothing, as /healthz says."""
    async with http.get(url + "/healthz") as response:
        return (await response.json())["owed_posts"] == 0


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_serve_runs_the_bridge_and_never_logs_a_secret(tmp_path, slack, membrane, log_format):
    port = free_port()
    env = serving_env(
        slack.api_url,
        tmp_path,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        MEMBRANE_CONNECTION_ID=CONNECTION,
        MEMBRANE_API_URL=membrane.url,
        PORT=str(port),
        LOG_LEVEL="DEBUG",
        LOG_FORMAT=log_format,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 20
            while True:
                try:
                    async with http.get(url + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert time.monotonic() < deadline, "the bridge did not answer /healthz"
                await asyncio.sleep(0.1)
            second = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "serve"],
                cwd=tmp_path,
                env=env | {"PORT": str(free_port())},
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert second.returncode == 2
            assert second.stderr == (
                f"Cannot start: {tmp_path / 'bridge.db'} is served by another chatra-bridge"
                f" (pid {process.pid}): one bridge per SQLite file\n"
            )
            body = json.dumps(chat_event("chatStarted", messages=[visitor_says("m1", "hello")]))
            async with http.post(f"{url}/chatra/webhook/{WEBHOOK_SECRET}", data=body) as response:
                assert response.status == 200
            async with http.post(
                f"{url}/chatra/webhook/wrong-{WEBHOOK_SECRET}", data=body
            ) as response:
                assert response.status == 404
            await wait_for(lambda: any("hello" in m.text for m in slack.messages), within=10)
            # the post recorded (and its line logged: the unit's answer came before this one)
            await wait_for(lambda: owed_nothing(http, url), within=10)
    finally:
        process.terminate()
        output, _ = await process.communicate()
    logs = output.decode()
    assert "chatStarted for chat client-1 stored" in logs
    assert process.returncode == 0
    said = [line for line in logs.splitlines() if any(w in line for w in ("ready", "stopp"))]
    assert [next(w for w in ("ready on", "stopping", "stopped") if w in line) for line in said] == [
        "ready on",
        "stopping",
        "stopped",
    ]
    assert f"ready on http://127.0.0.1:{port}" in said[0]
    assert "token` will be unused" not in logs  # Bolt's warning, silenced
    if log_format == "json":  # one JSON object a line, with what each line is about
        lines = [json.loads(line) for line in logs.splitlines()]
        stored = next(line for line in lines if "stored" in line["message"])
        assert (stored["level"], stored["chat"]) == ("INFO", "client-1")
        mirrored = next(line for line in lines if "mirrored into thread" in line["message"])
        assert mirrored["slack_ts"] == slack.parents(CHANNEL)[0].ts
    for secret in (BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET, MEMBRANE_TOKEN):
        assert secret not in logs


async def test_the_sandbox_command_serves_the_real_bridge_to_drive_by_hand(tmp_path):
    async with running_sandbox(tmp_path, clean_env()) as (port, text):
        await drive_the_sandbox_by_curl(port, text)


async def drive_the_sandbox_by_curl(port: int, text: str) -> None:
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("curl")]
    for command in commands:  # each can be pasted into a shell as printed
        shlex.split(command)
    urls = {c.split()[2].rsplit("/", 1)[1]: c.split()[2] for c in commands}
    visitor_url, channel_url, chats_url = urls["visitor"], urls["channel"], urls["chats"]
    reply_url, command_url, decide_url = urls["reply"], urls["command"], urls["decide"]
    trigger_url, close_url = urls["trigger"], urls["close"]
    assert channel_url.startswith(f"http://127.0.0.1:{port + 1}/")  # the same every run
    async with aiohttp.ClientSession() as http:

        async def post(url: str, body: Any) -> tuple[int, Any]:
            async with http.post(url, data=json.dumps(body)) as answer:
                return answer.status, await answer.text()

        async def until(url: str, seen: Callable[[Any], bool]) -> Any:
            for _ in range(100):
                async with http.get(url) as answer:
                    found = await answer.json()
                if seen(found):
                    return found
                await asyncio.sleep(0.1)
            raise AssertionError(f"{url} never showed it: {found}")

        status, answer = await post(reply_url, {"text": "Hi!"})
        assert (status, answer) == (400, "no chat yet: a visitor writes first\n")
        assert (await post(visitor_url, {"name": "Jane", "text": "Hello?"}))[0] == 200
        [thread] = await until(channel_url, lambda threads: threads)
        assert thread["card"] == "Jane: Hello? (New chat)" and thread["opens_with"] == ["Hello?"]
        status, answer = await post(reply_url, {"text": "Hi!"})
        assert json.loads(answer)["bridge_answered"] == 200
        _, shown = await post(command_url, {"text": "lookup jane"})  # a sandbox visitor is known
        assert "Visitor Jane" in json.loads(shown)["shown_to_you"]["text"]
        status, answer = await post(reply_url, "it's not JSON")
        assert status == 400 and 'send a JSON object with text, such as {"text":' in answer
        widget = await until(chats_url, lambda seen: seen["widget"] == "online")
        assert widget["agents_online"] == ["a1"]  # Sam answered: Chatra shows him online
        assert widget["chats"] == {"jane": ["Jane: Hello?", "Sam: Hi!"]}

        _, saved = await post(command_url, {"text": "saved add hello Hi {visitor}!"})
        assert json.loads(saved)["shown_to_you"]["text"] == "Saved `;hello`."
        await post(reply_url, {"text": ";hello"})
        await post(reply_url, {"text": "<@U0SANDBOX2> can you take this?"})
        [thread] = await until(channel_url, lambda threads: threads[0]["only_you_see"])
        assert thread["only_you_see"] == [
            ":raised_hand: This mentions @Kim: send it to the visitor? “@Kim can you take this?”"
        ]
        async with http.get(channel_url) as raw:
            assert "“@Kim can you take this?”" in await raw.text()  # text as text, not \\u201c
        assert (await post(decide_url, {"choice": "note"}))[0] == 200
        visitor_saw = ["Jane: Hello?", "Sam: Hi!", "Sam: Hi Jane!"]
        await until(chats_url, lambda seen: seen["chats"] == {"jane": visitor_saw})

        await post(trigger_url, {"name": "Bob", "text": "Need a hand?"})
        await post(close_url, {"visitor": "jane", "rating": 1, "comment": "Slow"})
        await post(visitor_url, {"name": "Jane", "text": "Me again"})

        def rated(threads: list) -> bool:  # Jane is back, and her rating was said in her thread
            return len(threads) == 3 and any("rated" in r["text"] for r in threads[0]["replies"])

        jane, bob, back = await until(channel_url, rated)
        assert bob["opens_with"] == ["Need a hand?"]
        assert ":small_red_triangle_down: Jane rated the chat *1*: “Slow”" in [
            reply["text"] for reply in jane["replies"]
        ]
        assert back["opens_with"] == ["Me again"]


def test_with_json_logs_python_warnings_are_json_lines_too(settings, capsys):
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    try:
        configure_logging(settings.model_copy(update={"log_format": "json"}))
        warnings.warn("a library is unhappy", UserWarning, stacklevel=1)
    finally:
        root.handlers[:], level = kept
        root.setLevel(level)
        logging.captureWarnings(False)
    [line] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert line["logger"] == "py.warnings" and "a library is unhappy" in line["message"]


@pytest.mark.parametrize("formatter", [RedactingFormatter, JsonFormatter])
def test_logs_forge_no_line_and_show_no_secret_in_any_encoding(formatter):
    secret = 'sec"ret\\with/odd chars'
    forms = (secret, json.dumps(secret), quote(secret, safe=""), quote_plus(secret))
    record = logging.LogRecord(
        "handlers.x", logging.WARNING, "", 0, "got %s\nINFO bot: FORGED %s %s %s", forms, None
    )
    line = formatter("%(levelname)s %(name)s: %(message)s", [secret]).format(record)

    assert "\n" not in line and "odd chars" not in line and "odd%20chars" not in line
    assert "odd+chars" not in line and line.count("[redacted]") == 4


async def test_a_socket_mode_token_slack_refuses_stops_the_start_in_one_line(slack, tmp_path):
    env = serving_env(slack.api_url, tmp_path, SLACK_APP_TOKEN="xapp-1-not-this-app")
    result = await asyncio.to_thread(serve, tmp_path, env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Cannot start: Slack refused SLACK_APP_TOKEN (invalid_auth): copy the app-level token"
        " again (Basic Information -> App-Level Tokens)"
    )
    assert "Traceback" not in result.stderr and "ERROR" not in result.stderr


@pytest.mark.parametrize(
    ("token", "refusal", "fix"),
    [
        (
            "xoxb-not-this-one",
            None,
            "invalid_auth): copy the Bot User OAuth Token (xoxb-...) again",
        ),
        (BOT_TOKEN, "token_revoked", "token_revoked): reinstall the app to the workspace and copy"),
        (BOT_TOKEN, "account_inactive", "account_inactive): reinstall the app to the workspace"),
    ],
)
async def test_a_bot_token_slack_refuses_stops_the_start_in_one_line(
    slack, tmp_path, token, refusal, fix
):
    slack.token_refusal = refusal
    env = serving_env(
        slack.api_url, tmp_path, SLACK_BOT_TOKEN=token, SLACK_SIGNING_SECRET=SIGNING_SECRET
    )
    result = await asyncio.to_thread(serve, tmp_path, env)
    assert result.returncode == 2
    [said] = [line for line in result.stderr.splitlines() if "Cannot start" in line]
    assert said.startswith(f"Cannot start: Slack refused SLACK_BOT_TOKEN ({fix}")
    assert "ready" not in result.stderr and "Traceback" not in result.stderr
    assert token not in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_bridge_whose_slack_cannot_be_reached_is_ready_and_stops_cleanly(signum, tmp_path):
    port = free_port()
    nobody = f"http://127.0.0.1:{free_port()}/api/"  # nobody there
    env = serving_env(nobody, tmp_path, SLACK_APP_TOKEN="xapp-1-abc", PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = asyncio.run(_healthz_when_up(f"http://127.0.0.1:{port}/healthz"))
        assert health["status"] == "degraded"
        assert health["down"]["slack_socket_mode"]["reason"].startswith("cannot reach Slack")
    finally:
        process.send_signal(signum)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output and "Unclosed" not in output
    assert output.count("Socket Mode wait") == 1
    assert output.rstrip().endswith("stopped")


async def _healthz_when_up(url: str) -> dict[str, Any]:
    """/healthz's answer once the bridge is up: about 6 s here with Slack unreachable (its
    client tries a refused connection three times), given a minute on a loaded machine."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.get(url) as response:
                    return await response.json()
            await asyncio.sleep(0.1)
    raise AssertionError("the bridge did not answer /healthz")
