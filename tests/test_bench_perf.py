"""bench.perf in short form: it runs, counts both sides and writes its JSON (no timing asserted:
numbers are for the bench's own report)."""

import json

from bench.perf import main


def test_perf_scale_and_transports_run_and_lose_nothing(tmp_path, capsys):
    out = tmp_path / "perf.json"
    code = main(
        ["--quick", "--only", "scale", "--seconds", "2", "--rate", "50", "--json", str(out)]
    )
    assert code == 0, capsys.readouterr().out
    scale = json.loads(out.read_text())["scale"]
    assert scale["sent"] == scale["received"] == {"visitor": 50, "agent": 50}
    assert scale["lost"] == scale["duplicated"] == 0
    assert scale["peak_rss_mb"] > 0 and scale["inbox_depth"]

    assert main(["--quick", "--only", "transports", "--json", str(out)]) == 0
    transports = json.loads(out.read_text())["membrane_cli_vs_http"]
    assert set(transports) == {"http", "cli (stand-in)"}
    assert all(t["runs"] == 10 for t in transports.values())
