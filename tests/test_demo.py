"""`chatra-bridge demo`: a newcomer sees the product work in one command, with no accounts."""

import os
import subprocess
import sys
from pathlib import Path


def test_demo_plays_a_chat_and_shows_what_each_side_saw(tmp_path):
    script = Path(sys.executable).parent / "chatra-bridge"
    unrelated = {**os.environ, "PORT": "not a port", "SLACK_CHANNEL_ID": "#general"}
    result = subprocess.run(
        [str(script), "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=unrelated,  # the demo needs no settings: malformed ones around it do not matter
    )
    assert result.returncode == 0, result.stdout + result.stderr
    slack_side, membrane_side, chatra_side, lookup = result.stdout.split("\n== ")[1:]

    card = slack_side.splitlines()[1:10]
    assert card[0] == "  │ :speech_balloon: *Jane Doe*  ·  Chat open"
    assert card[1].startswith("  │ *Jane Doe* · ") and card[1].endswith(" UTC")  # when she wrote
    assert card[2] == "  │ Hi! My order #1042 hasn't arrived yet."  # the card opens with it
    assert "  │ *Email*: jane@example.org · *Phone*: +49 30 123" in card  # as its lookup says
    buttons = "[Done] [Visitor details] [Edit visitor] [Send pushed message] [Discuss internally]"
    assert f"  │ {buttons}" in card
    assert "  Jane Doe: Hi! My order #1042 hasn't arrived yet." not in slack_side  # not twice
    assert "  Jane Doe: Thanks! It was due on Monday." in slack_side
    assert "  Sam: Hi Jane, I'm checking order #1042. (edited) :white_check_mark:" in slack_side
    assert "  Sam: Refund approved  (deleted in Slack: gone from Chatra too)" in slack_side
    actions = [line.split()[0] for line in membrane_side.splitlines()[1:] if line.strip()]
    assert actions == [
        "send-agent-message",
        "edit-agent-message",
        "send-agent-message",
        "delete-agent-message",
        "send-agent-message",
        "get-client",
    ]
    assert "Refund approved" not in chatra_side
    assert chatra_side.splitlines()[1:] == [
        "  Jane: Hi! My order #1042 hasn't arrived yet.",
        "  Sam: Hi Jane, I'm checking order #1042.",
        "  Jane: Thanks! It was due on Monday.",
        "  Sam: It left our warehouse today: you'll have it tomorrow 🚚",
    ]
    assert "*Email*: jane@example.org" in lookup and "In Slack: 1 chat" in lookup
    assert "+49 30 123" in lookup
    assert not list(tmp_path.iterdir())  # nothing left behind
