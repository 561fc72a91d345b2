"""The Dockerfile passes hadolint and keeps its promises (multi-stage, non-root, a health
check, one image whose command picks the role); its entrypoint and health check script
behave as documented."""

from __future__ import annotations

import http.server
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy import tools
from tests.support.network import free_port

DOCKERFILE = tools.ROOT / "Dockerfile"
ENTRYPOINT = tools.DEPLOY / "docker" / "entrypoint.sh"
HEALTHCHECK = tools.DEPLOY / "docker" / "healthcheck.py"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = text.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE.read_text())
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def test_dockerfile_passes_hadolint() -> None:
    result = tools.run(tools.hadolint(), DOCKERFILE)
    assert result.returncode == 0, tools.explain(result)


def test_hadolint_rejects_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text(
        DOCKERFILE.read_text().replace(
            "FROM python:3.11-slim AS runtime",
            "FROM python:latest AS runtime\nRUN apt-get update && apt-get install curl",
        )
    )
    result = tools.run(tools.hadolint(), careless)
    assert result.returncode != 0, tools.explain(result)
    assert "DL3007" in result.stdout  # "latest" tag


def test_the_image_is_multi_stage_and_slim() -> None:
    froms = [args for keyword, args in instructions(DOCKERFILE.read_text()) if keyword == "FROM"]
    assert len(froms) >= 2
    assert all("-slim" in base for base in froms)
    assert any("--from=build" in args for keyword, args in final_stage() if keyword == "COPY")


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user.isdigit()  # numeric, so Kubernetes can check runAsNonRoot
    assert int(user) != 0


def test_the_image_has_a_health_check_and_a_role_picking_entrypoint() -> None:
    stage = dict(final_stage())
    assert "loom-healthcheck" in stage["HEALTHCHECK"]
    assert "loom-entrypoint" in stage["ENTRYPOINT"]
    assert "webserver" in stage["CMD"]
    assert "8080" in stage["EXPOSE"].split()


def test_everything_the_image_copies_is_in_the_build_context() -> None:
    ignored = {
        line.strip()
        for line in (tools.ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for keyword, args in instructions(DOCKERFILE.read_text()):
        if keyword != "COPY" or "--from=" in args:
            continue
        sources = [a for a in args.split() if not a.startswith("--")][:-1]
        for source in sources:
            assert (tools.ROOT / source).exists(), source
            assert source.rstrip("/") not in ignored, f"{source} is in .dockerignore"
    for script in (ENTRYPOINT, HEALTHCHECK):
        assert script.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"


@pytest.fixture
def fake_loom(tmp_path: Path) -> Path:
    """A `loom` that prints its arguments; `loom db check` exits $FAKE_CHECK (0)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    loom = bin_dir / "loom"
    loom.write_text(
        '#!/bin/sh\necho "loom $*"\nif [ "$1 $2" = "db check" ]; then exit "${FAKE_CHECK:-0}"; fi\n'
    )
    loom.chmod(0o755)
    return bin_dir


def entrypoint(bin_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], capture_output=True, text=True, env=environ, timeout=30
    )


@pytest.mark.parametrize(
    ("args", "runs"),
    [
        (["webserver", "--workers", "4"], "loom webserver --workers 4"),
        (["scheduler"], "loom scheduler"),
        (["worker", "--concurrency", "2"], "loom worker --concurrency 2"),
        (["notifier"], "loom notifier"),
        (["triggerer"], "loom triggerer"),
        (["migrate"], "loom db upgrade"),
        ([], "loom webserver"),
        (["loom", "dags", "list"], "loom dags list"),
    ],
)
def test_the_entrypoint_maps_roles_to_commands(fake_loom: Path, args: list[str], runs: str) -> None:
    result = entrypoint(fake_loom, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == runs


def test_the_entrypoint_runs_other_commands_as_given(fake_loom: Path) -> None:
    result = entrypoint(fake_loom, "sh", "-c", "echo as given; exit 3")
    assert (result.returncode, result.stdout.strip()) == (3, "as given")


def test_waiting_for_migrations_ends_when_the_check_passes_or_time_is_up(fake_loom: Path) -> None:
    assert entrypoint(fake_loom, "wait-for-migrations").returncode == 0
    late = entrypoint(fake_loom, "wait-for-migrations", FAKE_CHECK="1", LOOM_MIGRATION_WAIT="0")
    assert late.returncode == 1
    assert "giving up" in late.stderr


class _Endpoint(http.server.BaseHTTPRequestHandler):
    status = 200
    database = "healthy"

    def do_GET(self) -> None:
        if self.path not in {"/metrics", "/api/v2/monitor/health"}:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(self.status)
        self.end_headers()
        if self.path == "/api/v2/monitor/health":
            self.wfile.write(json.dumps({"metadatabase": {"status": self.database}}).encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def healthcheck(*roles: str, **env: str) -> int:
    ports = {
        "LOOM__WEBSERVER__PORT": str(free_port()),
        "LOOM__METRICS__SCHEDULER_PORT": str(free_port()),
        "LOOM__METRICS__WORKER_PORT": str(free_port()),
        "LOOM__METRICS__NOTIFIER_PORT": str(free_port()),
    }
    result = subprocess.run(
        [sys.executable, str(HEALTHCHECK), *roles],
        env={"PATH": os.environ["PATH"], **ports, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode


def test_the_health_check_asks_the_role_s_endpoint(endpoint: http.server.HTTPServer) -> None:
    port = str(endpoint.server_address[1])
    assert healthcheck("worker", LOOM__METRICS__WORKER_PORT=port) == 0
    assert healthcheck("webserver", LOOM__WEBSERVER__PORT=port) == 0
    assert healthcheck("scheduler", LOOM__METRICS__WORKER_PORT=port) == 1  # wrong port
    assert healthcheck(LOOM__METRICS__NOTIFIER_PORT=port) == 0  # no role: any endpoint
    assert healthcheck() == 1
    assert healthcheck("standalone") == 2


def test_the_health_check_fails_on_an_error_status(
    endpoint: http.server.HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Endpoint, "status", 503)
    assert healthcheck("webserver", LOOM__WEBSERVER__PORT=str(endpoint.server_address[1])) == 1


def test_the_webserver_is_unhealthy_while_its_database_is(
    endpoint: http.server.HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/api/v2/monitor/health answers 200 whatever it finds, as Airflow's does: the check
    reads the database's status from the body."""
    monkeypatch.setattr(_Endpoint, "database", "unhealthy")
    assert healthcheck("webserver", LOOM__WEBSERVER__PORT=str(endpoint.server_address[1])) == 1


def test_every_packaged_folder_is_a_package() -> None:
    """setup.cfg's namespace discovery would package a folder of modules without
    __init__.py as a namespace package, which mypy and pytest resolve differently: every
    such folder has one (only folders of templates and static files go without)."""
    for top in ("engine", "workers", "webui", "plugins", "migrations"):
        for module in (tools.ROOT / top).rglob("*.py"):
            if "__pycache__" in module.parts:
                continue
            folder = module.parent
            assert (folder / "__init__.py").is_file(), f"{folder} has no __init__.py"
