"""deploy/docker-compose.yml: `docker compose config` and the compose-spec schema accept
it, and it has what the issue asks (two schedulers, a one-shot migration the others wait
for, health checks, scalable workers), with a Loom configuration that Loom accepts; every
secret is a required variable, Redis asks for a password, ports listen on 127.0.0.1."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from engine.config import load_settings
from engine.models.crypto import crypter_for
from tests.deploy import tools
from webui.auth import check_secret

COMPOSE = tools.DEPLOY / "docker-compose.yml"
LOOM_ROLES = {"webserver", "scheduler", "worker", "notifier", "triggerer"}
BACKING = {"postgres", "redis", "rabbitmq"}
SECRETS = {
    name: secrets.token_urlsafe(48)
    for name in (
        "LOOM_SECRET_KEY",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "RABBITMQ_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
    )
}
SECRETS["LOOM_FERNET_KEY"] = Fernet.generate_key().decode()
"""The variables the file requires (it has no default for any secret), as an operator sets them."""


def compose(
    path: Path, *args: str, variables: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`docker compose -f path ARGS` with the required secrets (or ``variables``) and no
    other variable, so that the defaults the file documents are what is checked."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    env |= SECRETS if variables is None else variables
    return tools.run(tools.docker_compose(), "-f", path, *args, env=env)


@cache
def resolved() -> dict[str, Any]:
    """The Compose model after interpolation, anchors and defaults (`config --format json`)."""
    result = compose(COMPOSE, "config", "--format", "json")
    assert result.returncode == 0, tools.explain(result)
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def services(variables: dict[str, str] | None = None) -> dict[str, Any]:
    if variables is None:
        return dict(resolved()["services"])
    result = compose(COMPOSE, "config", "--format", "json", variables=variables)
    assert result.returncode == 0, tools.explain(result)
    return dict(json.loads(result.stdout)["services"])


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
    assert roles == [
        "migrate",
        "notifier",
        "scheduler",
        "scheduler",
        "triggerer",
        "webserver",
        "worker",
    ]
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
        assert crypter_for(settings).enabled, name  # variables and connections encrypted


def test_prometheus_and_grafana_get_the_files_in_deploy() -> None:
    for service in ("prometheus", "grafana"):
        for volume in services()[service]["volumes"]:
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), volume["source"]
                assert Path(volume["source"]).is_relative_to(tools.DEPLOY)


def test_every_secret_is_a_required_variable() -> None:
    """No secret has a default: without any one of them, Compose refuses the file."""
    for name in SECRETS:
        others = {k: v for k, v in SECRETS.items() if k != name}
        result = compose(COMPOSE, "config", "--quiet", variables=others)
        assert result.returncode != 0, f"{name} has a default"
        assert f"required variable {name} is missing a value: set {name}" in result.stderr


def test_services_get_the_secrets_the_operator_set() -> None:
    s = services()
    assert (
        s["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
        == (SECRETS["GRAFANA_ADMIN_PASSWORD"])
    )
    assert s["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"] == SECRETS["RABBITMQ_PASSWORD"]
    assert s["postgres"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    for name, service in loom_services().items():
        environment = service["environment"]
        assert environment["LOOM__WEBSERVER__SECRET_KEY"] == SECRETS["LOOM_SECRET_KEY"], name
        assert environment["LOOM__CORE__FERNET_KEY"] == SECRETS["LOOM_FERNET_KEY"], name


def test_redis_asks_for_a_password_and_loom_sends_it(tmp_path: Path) -> None:
    redis = services()["redis"]
    password = SECRETS["REDIS_PASSWORD"]
    command = redis["command"]
    assert command[command.index("--requirepass") + 1] == password
    assert redis["environment"]["REDISCLI_AUTH"] == password  # the health check signs in
    for name, service in loom_services().items():
        settings = load_settings({**service["environment"]}, cwd=tmp_path)
        assert settings.redis.url == f"redis://:{password}@redis:6379/0", name


def test_published_ports_listen_on_localhost_unless_loom_bind_says_otherwise() -> None:
    published = {n: s["ports"] for n, s in services().items() if s.get("ports")}
    assert set(published) == {"webserver", "rabbitmq", "prometheus", "grafana"}
    for name, ports in published.items():
        assert {port["host_ip"] for port in ports} == {"127.0.0.1"}, name
    everywhere = services({**SECRETS, "LOOM_BIND": "0.0.0.0"})
    for name in published:
        assert {port["host_ip"] for port in everywhere[name]["ports"]} == {"0.0.0.0"}, name
