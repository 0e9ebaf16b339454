"""`chatra-bridge demo`: a newcomer sees the product work in one command, with no accounts."""

import subprocess
import sys
from pathlib import Path


def test_demo_plays_a_chat_and_shows_what_each_side_saw(tmp_path):
    script = Path(sys.executable).parent / "chatra-bridge"
    result = subprocess.run(
        [str(script), "demo"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    slack_side, chatra_side, lookup = result.stdout.split("\n== ")[1:]

    assert slack_side.splitlines()[1] == "[card] New chat: Jane Doe (jane@example.org · My orders)"
    assert "  Jane Doe: Hi! My order #1042 hasn't arrived yet." in slack_side
    assert "  Sam: Hi Jane, I'm checking order #1042. (edited) :white_check_mark:" in slack_side
    assert "Refund approved" not in slack_side and "Refund approved" not in chatra_side
    assert chatra_side.splitlines()[1:] == [
        "  Jane: Hi! My order #1042 hasn't arrived yet.",
        "  Sam: Hi Jane, I'm checking order #1042.",
        "  Jane: Thanks! It was due on Monday.",
        "  Sam: It left our warehouse today: you'll have it tomorrow 🚚",
    ]
    assert "*Email*: jane@example.org" in lookup and "Open the Slack thread" in lookup
    assert not list(tmp_path.iterdir())  # nothing left behind
