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
    assert 'VOLUME ["/data", "/backups"]' in dockerfile and "DATABASE_PATH=/data/" in dockerfile
    assert "-r requirements.lock" in dockerfile


def test_the_image_is_built_with_a_pinned_pip_and_build_backend_and_can_be_built_offline():
    build = [
        line
        for line in (ROOT / "requirements-build.lock").read_text().splitlines()
        if line[:1].isalnum()
    ]
    pinned = dict(line.split("==") for line in build)
    assert set(pinned) == {"pip", "setuptools"}
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert backend == ["setuptools>=68"] and int(pinned["setuptools"].split(".")[0]) >= 68
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements-build.lock" in dockerfile
    assert "--no-build-isolation" in dockerfile  # the pinned backend, not whatever is newest
    assert "COPY wheelhouse ./wheelhouse" in dockerfile and (ROOT / "wheelhouse").is_dir()


def test_compose_publishes_the_port_it_listens_on_and_backs_up_to_another_volume():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert '"${PORT:-3000}:${PORT:-3000}"' in compose and "PORT: ${PORT:-3000}" in compose
    assert "chatra-backups:/backups" in compose and "db backup /backups/" in compose


def test_the_ha_example_runs_two_bridges_on_one_postgresql_behind_a_balancer():
    compose = (ROOT / "docker-compose.ha.yml").read_text()
    assert "image: postgres:15" in compose and "pg_isready" in compose
    assert "bridge-a: *bridge" in compose and "bridge-b: *bridge" in compose
    assert "DATABASE_URL: postgresql://bridge:${POSTGRES_PASSWORD" in compose
    assert "condition: service_healthy" in compose
    balancer = (ROOT / "deploy" / "nginx-ha.conf").read_text()
    assert "server bridge-a:3000" in balancer and "server bridge-b:3000" in balancer
    assert "proxy_next_upstream error timeout http_502 http_503 non_idempotent" in balancer
    assert "./deploy/nginx-ha.conf:/etc/nginx/conf.d/default.conf" in compose
