"""The container installs from requirements.lock alone: it must pin every runtime dependency."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_pins_every_runtime_dependency_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        canonical(re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0]) for dep in project["dependencies"]
    }
    lines = [
        line for line in (ROOT / "requirements.lock").read_text().splitlines() if line[:1].isalnum()
    ]
    pinned = {canonical(line.split("==")[0]): line for line in lines}
    assert all("==" in line for line in lines)
    assert wanted <= set(pinned), f"not in requirements.lock: {wanted - set(pinned)}"


def test_the_image_runs_as_a_non_root_user_with_a_health_check_on_a_volume():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER bridge$", dockerfile, re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert 'VOLUME ["/data"]' in dockerfile and "DATABASE_PATH=/data/" in dockerfile
    assert "-r requirements.lock" in dockerfile
