"""What telling Chatra who is online costs: 50 agents on duty, a round a minute (the default),
each round run by hand on a clock that moves a minute between rounds.

    python -m bench.online [--agents 50] [--rounds 10]

The CPU counted is this whole process: the bridge, and the fake Slack (users.getPresence) and
Membrane (the action) it calls, so the bridge's own share is less than what is printed."""

import argparse
import asyncio
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from bot.trying.sandboxed import RunningApp, settings_for
from handlers.app_keys import CORE
from sandbox.chatra import chat_event, visitor_says
from sandbox.membrane import FakeMembrane
from sandbox.membrane_wire import ONLINE_ACTION
from sandbox.slack import FakeSlack

CHANNEL = "C0ONLINE01"
RESULTS = Path(__file__).parent / "results"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_003_600.0  # Fri 09:00 UTC: no business hours set, all hours count

    def __call__(self) -> float:
        return self.now


async def measure(agents: int, rounds: int) -> dict[str, float]:
    people = {
        f"U{n:08d}": {"id": f"U{n:08d}", "name": f"agent{n}", "profile": {
            "display_name": f"Agent {n}", "email": f"agent{n}@example.org"
        }}
        for n in range(agents)
    }  # fmt: skip
    slack = await FakeSlack("xoxb-online-bench", {CHANNEL}, people).start()
    membrane = await FakeMembrane("conn-online").start()
    membrane.make_online_action()
    listed = [
        {"id": f"a{n}", "name": f"Agent {n}", "email": f"agent{n}@example.org"}
        for n in range(agents)
    ]
    membrane.agents = {a["id"]: {"name": a["name"], "email": a["email"]} for a in listed}
    clock = Clock()
    with tempfile.TemporaryDirectory() as workdir:
        settings = settings_for(
            slack,
            membrane,
            Path(workdir) / "online.db",
            signing_secret="online-bench-secret",
            webhook_secret="online-bench-webhook-0123",
            chatra_online_action=ONLINE_ACTION,
            escalation_check_seconds=3600,  # the rounds are run here, by hand
        )
        app = await RunningApp(settings, clock).start()
        try:
            body = chat_event("chatStarted", "bench-visitor", [visitor_says("", "hi")])
            await app.webhook(body | {"agents": listed})  # Chatra lists its agents
            await app.settled()
            on_call = "oncall " + " ".join(f"<@{user}>" for user in people)
            await app.slash_command(on_call, user=next(iter(people)))
            online = app.app[CORE].door.online
            await online.ping()  # the first round: Slack's answers cached, as in a running bridge
            runs_before, cpu, wall = len(membrane.runs), 0.0, 0.0
            for _ in range(rounds):
                clock.now += 60
                began_cpu, began = time.process_time(), time.perf_counter()
                await online.ping()
                cpu += time.process_time() - began_cpu
                wall += time.perf_counter() - began
            runs = len(membrane.runs) - runs_before
        finally:
            await app.close()
            await slack.stop()
            await membrane.stop()
    return {
        "agents": agents,
        "rounds (minutes)": rounds,
        "action runs per minute": runs / rounds,
        "cpu seconds per minute": round(cpu / rounds, 4),
        "share of one core (%)": round(cpu / rounds / 60 * 100, 3),
        "round wall ms": round(wall / rounds * 1000, 1),
        "online in Chatra": len(membrane.online_agents()),
        "dummy agents made": len(membrane.dummy_agents),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(measure(args.agents, args.rounds))
    for name, value in result.items():
        print(f"{name}: {value}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"online-{date.today().isoformat()}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
