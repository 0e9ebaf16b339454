"""How many writes the bridge makes per Chatra message it mirrors and per reply it sends: durable
ones (fsync'd, seen as `PRAGMA synchronous = FULL`) and commits in all (a write outside a
transaction commits on its own).

    python -m bench.writes

Three scenarios, in process against the fake Slack and Membrane: `steady` (one chat, 10 messages
1.2 s apart, the channel keeping up), `burst` (10 chats of 6 messages at once, the fake
enforcing 1 post/s with bursts of 5: messages wait and are joined) and `replies` (10 replies
from Slack to one visitor, one after the other)."""

import asyncio
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.harness import (
    AGENT,
    CHANNEL,
    MEMBRANE_TOKEN,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    start_fakes,
)
from bot.trying.sandboxed import RunningApp, settings_for
from handlers.app_keys import DATABASE
from sandbox.chatra import chat_event, visitor_says
from sandbox.slack_wire import thread_reply


@dataclass
class Writes:
    scenario: str
    messages: int
    durable_per_message: float
    commits_per_message: float
    slack_posts: int


async def measure(scenario: str, workdir: Path) -> Writes:
    slack, membrane = await start_fakes()
    settings = settings_for(
        slack,
        membrane,
        workdir / f"{scenario}.db",
        signing_secret=SIGNING_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        membrane_token=MEMBRANE_TOKEN,
    )
    app = await RunningApp(settings).start()
    statements: list[str] = []
    app.app[DATABASE].conn.set_trace_callback(statements.append)
    if scenario == "replies":
        await app.webhook(chat_event("chatStarted", "c0", [visitor_says("m0", "hi")], name="Jo"))
        await app.settled()
        statements.clear()
        thread_ts = slack.parents(CHANNEL)[0].ts
        for n in range(10):
            await app.slack_event(reply_in(thread_ts, n), f"Ev{n:08d}")
            await app.settled()
        messages = 10
    elif scenario == "steady":
        await app.webhook(chat_event("chatStarted", "c0", name="Steady"))
        await app.settled()
        statements.clear()  # the chat's card is posted: what follows is its messages'
        for n in range(10):
            await app.webhook(chat_event("chatFragment", "c0", [visitor_says(f"m{n}", f"q {n}")]))
            await asyncio.sleep(1.2)  # slower than the channel's pace: nothing waits
        messages = 10
    else:
        slack.post_limit = (5, 1.0)
        for chat in range(10):
            said = [
                visitor_says(f"{chat}-{n}", f"q {chat}.{n}", at=1_700_000 + n) for n in range(6)
            ]
            await app.webhook(chat_event("chatStarted", f"c{chat}", said, name=f"Busy {chat}"))
        messages = 60
    await app.settled(within=120)
    counted = list(statements)  # what stopping writes is no message's
    await app.close()
    await slack.stop()
    await membrane.stop()
    durable = sum(1 for s in counted if s.strip().upper() == "PRAGMA SYNCHRONOUS = FULL")
    commits = count_commits(counted)
    return Writes(
        scenario,
        messages,
        round(durable / messages, 2),
        round(commits / messages, 2),
        len([m for m in slack.messages if m.thread_ts]),
    )


def count_commits(statements: list[str]) -> int:
    """Explicit COMMITs, and writes outside a transaction (each commits on its own)."""
    commits, inside = 0, False
    for statement in statements:
        words = statement.upper().split()[:2] or [""]
        word = words[0]
        if words[-1] == "TO":  # ROLLBACK TO a savepoint: still inside
            continue
        if word == "BEGIN":
            inside = True
        elif word in ("COMMIT", "END", "ROLLBACK") and inside:
            commits += word != "ROLLBACK"
            inside = False
        elif word in ("INSERT", "UPDATE", "DELETE", "REPLACE") and not inside:
            commits += 1
    return commits


def reply_in(thread_ts: str, n: int) -> dict:
    return thread_reply(CHANNEL, AGENT, f"answer {n}", f"1800000000.{n:06d}", thread_ts)


async def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        for scenario in ("steady", "burst", "replies"):
            print(json.dumps(asdict(await measure(scenario, Path(workdir)))), flush=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
