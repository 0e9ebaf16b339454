"""The chaos run, short form: SIGKILLs while chats flow both ways; nothing lost or doubled."""

import json

from bench.chaos import main


def test_sigkill_restarts_lose_and_double_nothing(capsys, tmp_path):
    report = tmp_path / "chaos.json"
    code = main(
        [
            "--chats",
            "3",
            "--messages",
            "3",
            "--kill-every",
            "0.6",
            "--drain-kills",
            "4",
            "--json",
            str(report),
        ]
    )
    printed = capsys.readouterr().out
    print(printed)
    assert code == 0, printed
    assert json.loads(report.read_text())["restarts"] >= 1
