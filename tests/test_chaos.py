"""The chaos run, short form: SIGKILLs while chats flow both ways; nothing lost or doubled."""

import json

from bench.chaos import main


def killed_at_random(capsys, tmp_path, *more: str) -> dict:
    """3 chats x 3 messages each way while bridges are killed; the report, once it is clean."""
    report = tmp_path / "chaos.json"
    code = main(["--chats", "3", "--messages", "3", "--drain-kills", "4", "--json", str(report),
                 *more])  # fmt: skip
    printed = capsys.readouterr().out
    print(printed)
    assert code == 0, printed
    return json.loads(report.read_text())


def test_sigkill_restarts_lose_and_double_nothing(capsys, tmp_path):
    assert killed_at_random(capsys, tmp_path, "--kill-every", "0.6")["restarts"] >= 1


def test_two_bridges_on_postgresql_killed_at_random_lose_and_double_nothing(capsys, tmp_path):
    found = killed_at_random(capsys, tmp_path, "--bridges", "2", "--kill-every", "1")
    assert found["bridges"] == 2 and found["database"] == "postgresql" and found["restarts"] >= 1


def test_slack_then_membrane_down_while_chats_flow_loses_and_doubles_nothing(capsys):
    code = main(["--scenario", "outage", "--chats", "2", "--messages", "4", "--down", "3"])
    printed = capsys.readouterr().out
    print(printed)
    assert code == 0, printed
    assert ":white_check_mark: Slack is back after" in printed


def test_an_agents_answer_reaches_chatra_at_once_behind_a_backlog_of_posts(capsys, tmp_path):
    report = tmp_path / "head-of-line.json"
    code = main(["--scenario", "head-of-line", "--json", str(report)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    found = json.loads(report.read_text())
    assert found["answers_reached_chatra"] == 5 and found["posts_waiting_when_answered"] >= 50
