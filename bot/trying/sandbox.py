"""`chatra-bridge sandbox`: the real bridge, on a port of this machine, against the sandboxes of
Slack and Membrane (on the next two ports), to try in a browser: one page (served by the fake
Slack) shows the website's chat widget, the support channel, App Home and the Membrane calls.
The same acts answer `curl` (`bot.trying.playground`)."""

import asyncio
import tempfile
import webbrowser
from pathlib import Path

from bot.running import server
from bot.running.app import create_app
from bot.trying.playground import CHANNEL, SIGNING, TEAM, WEBHOOK, Playground
from bot.trying.sandbox_page import add_routes
from bot.trying.sandboxed import settings_for
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack

CONNECTION, TOKEN = "conn-sandbox", "xoxb-sandbox-token"


def instructions(bridge: str, slack: FakeSlack) -> str:
    page = slack.url
    return f"""chatra-bridge sandbox: the real bridge at {bridge}, Slack and Chatra faked here.

  Open {page}/ in a browser: the website's chat widget, the support channel, App Home and
  the Membrane calls, side by side. Or drive it with curl (JSON in, JSON out):
    curl -s {page}/sandbox/visitor -d '{{"name": "Jane", "text": "Hello? Anyone there?"}}'
    curl -s {page}/sandbox/channel
    curl -s {page}/sandbox/reply -d '{{"text": "Hi Jane!"}}'
    curl -s {page}/sandbox/command -d '{{"text": "saved add hello Hi {{visitor}}!"}}'
    curl -s {page}/sandbox/reply -d '{{"text": ";hello"}}'
    curl -s {page}/sandbox/reply -d '{{"text": "<@U0SANDBOX2> can you take this?"}}'
    curl -s {page}/sandbox/decide -d '{{"choice": "note"}}'
    curl -s {page}/sandbox/trigger -d '{{"name": "Bob", "text": "Need a hand?"}}'
    curl -s {page}/sandbox/close -d '{{"visitor": "jane", "rating": 1, "comment": "Slow"}}'
    curl -s {page}/sandbox/chats
  The bridge's health and metrics: {bridge}/healthz and {bridge}/metrics
Ctrl-C stops it all."""


async def run(port: int, open_page: bool = False) -> None:
    """The bridge on `port`, the fake Slack (and the page) on the next one, the fake Membrane
    on the one after."""
    sock = server.bind("127.0.0.1", port)
    port = sock.getsockname()[1]
    bridge = f"http://127.0.0.1:{port}"
    slack = FakeSlack(TOKEN, {CHANNEL}, TEAM)
    membrane = FakeMembrane(CONNECTION)
    online_action = membrane.make_online_action()
    add_routes(slack.app, Playground(slack, membrane, bridge))
    for fake, its_port in ((slack, port + 1), (membrane, port + 2)):
        try:
            await fake.start(its_port)
        except OSError as error:
            raise server.CannotListen("127.0.0.1", its_port, error) from None
    membrane.echo_to = f"{bridge}/chatra/webhook/{WEBHOOK}"
    with tempfile.TemporaryDirectory(prefix="chatra-sandbox-") as workdir:
        settings = settings_for(
            slack,
            membrane,
            Path(workdir) / "sandbox.db",
            signing_secret=SIGNING,
            webhook_secret=WEBHOOK,
            public_url=bridge,
            chatra_online_action=online_action,
            chatra_online_every_seconds=10,  # seen online within seconds of answering
            escalation_check_seconds=2,
            chat_idle_gap_hours=1e-7,  # a visitor writing after their chat closed comes back
        )
        print(instructions(bridge, slack), flush=True)
        if open_page:
            webbrowser.open(f"{slack.url}/")
        try:
            await server.serve(create_app(settings), sock, per_address=0)
        finally:
            await slack.stop()
            await membrane.stop()


def main(port: int, open_page: bool = False) -> int:
    try:
        asyncio.run(run(port, open_page))
    except server.CannotListen as taken:
        print(f"Cannot start: {taken}: give another --port (it and the next two are used)")
        return 2
    return 0
