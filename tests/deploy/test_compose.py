"""deploy/docker-compose.yml: `docker compose config` and the compose-spec schema accept
it, and it has what the issue asks (two schedulers, a one-shot migration the others wait
for, health checks, scalable workers), with a Loom configuration that Loom accepts."""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from engine.config import load_settings
from tests.deploy import tools
from webui.auth.tokens import check_secret

COMPOSE = tools.DEPLOY / "docker-compose.yml"
LOOM_ROLES = {"webserver", "scheduler", "worker", "notifier"}
BACKING = {"postgres", "redis", "rabbitmq"}


def compose(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`docker compose -f path ARGS` without the variables the file reads, so that the
    defaults it documents are what is checked."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return tools.run(tools.docker_compose(), "-f", path, *args, env=env)


@cache
def resolved() -> dict[str, Any]:
    """The Compose model after interpolation, anchors and defaults (`config --format json`)."""
    result = compose(COMPOSE, "config", "--format", "json")
    assert result.returncode == 0, tools.explain(result)
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def services() -> dict[str, Any]:
    return dict(resolved()["services"])


def loom_services() -> dict[str, Any]:
    """Services running a Loom process, by name (the one-shot migration included)."""
    return {n: s for n, s in services().items() if s.get("image", "").startswith("loom")}


def role(service: dict[str, Any]) -> str:
    return str(service["command"][0])


def test_docker_compose_config_accepts_the_file() -> None:
    result = compose(COMPOSE, "config", "--quiet")
    assert result.returncode == 0, tools.explain(result)


def test_docker_compose_config_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE.read_text().replace("service_completed_successfully", "service_done", 1)
    )
    result = compose(broken, "config", "--quiet")
    assert result.returncode != 0, tools.explain(result)
    assert "condition" in result.stderr


def test_the_file_matches_the_compose_specification() -> None:
    result = tools.run(tools.check_jsonschema(), "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert result.returncode == 0, tools.explain(result)


def test_every_process_and_backing_service_is_there() -> None:
    roles = sorted(role(s) for s in loom_services().values())
    assert roles == ["migrate", "notifier", "scheduler", "scheduler", "webserver", "worker"]
    assert set(services()) >= BACKING | {"prometheus", "grafana"}


def test_everything_waits_for_the_one_shot_migration() -> None:
    (migrate,) = [s for s in loom_services().values() if role(s) == "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in loom_services().items():
        if role(service) == "migrate":
            continue
        depends = service["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        for backing in BACKING:
            assert depends[backing]["condition"] == "service_healthy", name


def test_long_running_services_have_health_checks() -> None:
    for name, service in services().items():
        check = service.get("healthcheck", {})
        if service.get("image", "").startswith("loom") and role(service) == "migrate":
            assert check.get("disable") is True
            continue
        assert check.get("test"), f"{name} has no health check"
        if name in loom_services():
            assert check["test"] == ["CMD", "loom-healthcheck", role(service)], name


def test_workers_scale_and_schedulers_are_two() -> None:
    workers = [s for s in loom_services().values() if role(s) == "worker"]
    (worker,) = workers
    assert worker["deploy"]["replicas"] >= 2
    assert "container_name" not in worker  # --scale works
    assert not worker.get("ports")
    schedulers = [n for n, s in loom_services().items() if role(s) == "scheduler"]
    assert len(schedulers) == 2


def test_loom_accepts_the_configuration_the_services_get(tmp_path: Path) -> None:
    image_env = {"LOOM_HOME": str(tmp_path / "home"), "LOOM__METRICS__HOST": "0.0.0.0"}
    for name, service in loom_services().items():
        settings = load_settings({**image_env, **service["environment"]}, cwd=tmp_path)
        assert settings.executor.kind == "rq", name
        assert settings.database.url.startswith("postgresql+psycopg://"), name
        assert settings.dlq.amqp_url.startswith("amqp://"), name
        check_secret(settings.webserver.secret_key)


def test_prometheus_and_grafana_get_the_files_in_deploy() -> None:
    for service in ("prometheus", "grafana"):
        for volume in services()[service]["volumes"]:
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), volume["source"]
                assert Path(volume["source"]).is_relative_to(tools.DEPLOY)
