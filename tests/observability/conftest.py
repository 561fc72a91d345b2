"""A real Loom deployment to observe: ``loom scheduler``, ``loom worker`` (forking),
``loom webserver`` (gunicorn, two workers) and ``loom notifier`` (alerting a local
webhook receiver) on PostgreSQL and Redis, each process with its metrics port and
logging JSON lines; and promtool, which checks the metrics."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import textwrap
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.network import answers, free_port
from tests.support.processes import (
    LOOM,
    loom_cli,
    processes_under,
    wait_until,
)
from tests.support.services import IN_CI, redis_url, require_service, rq_deployment

REDIS_URL = redis_url(11)
SECRET = "metrics-tests-secret-key-long-enough-for-hs256"
PROMTOOL = os.environ.get("LOOM_PROMTOOL", "promtool")

DAG_FILE = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, BashOperator

    with DAG("measured", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        first = BashOperator(task_id="first", bash_command="echo one")
        second = BashOperator(task_id="second", bash_command="echo two")
        broken = BashOperator(task_id="broken", bash_command="exit 3", retries=0)
        first >> second >> broken
    """
)


def promtool() -> str:
    """promtool's path; skips (fails in CI) without it (scripts/ensure-tools.sh installs it)."""
    found = shutil.which(PROMTOOL)
    if found:
        return found
    message = "no promtool (Debian's prometheus package; scripts/ensure-tools.sh installs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def check_metrics(text: str) -> subprocess.CompletedProcess[str]:
    """``promtool check metrics`` on an exposition."""
    return subprocess.run(
        [promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition by (name, sorted labels)."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples(text).items() if n == name and wanted <= set(ls))


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return str(reply.read().decode())


class _Accepting(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that takes every event (the notifier's metrics count them)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def _start_receiver() -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Accepting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Deployment:
    env: dict[str, str]
    endpoints: dict[str, str]
    """/metrics URL by process: webserver, scheduler, worker, notifier."""
    logs: Path
    """Where each process's stderr is: ``<name>.err``."""

    def loom(self, *args: str) -> str:
        result = loom_cli(self.env, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def scrape(self, process: str) -> str:
        return fetch(self.endpoints[process])


@pytest.fixture(scope="package")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    require_service("redis")
    root = tmp_path_factory.mktemp("metrics-loom")
    dags = root / "dags"
    dags.mkdir()
    (dags / "measured.py").write_text(DAG_FILE)
    ports = {name: free_port() for name in ("webserver", "scheduler", "worker", "notifier")}
    receiver = _start_receiver()
    with rq_deployment(
        root,
        redis_url=REDIS_URL,
        dags_folder=dags,
        LOOM__SCHEDULER__TICK_INTERVAL="0.3s",
        LOOM__WEBSERVER__SECRET_KEY=SECRET,
        LOOM__WEBSERVER__PORT=str(ports["webserver"]),
        LOOM__METRICS__SCHEDULER_PORT=str(ports["scheduler"]),
        LOOM__METRICS__WORKER_PORT=str(ports["worker"]),
        LOOM__METRICS__NOTIFIER_PORT=str(ports["notifier"]),
        LOOM__WEBHOOKS__OPS__URL=f"http://127.0.0.1:{receiver.server_port}/hook",
        LOOM__ALERTS__NOTIFY="ops",
        LOOM__LOGGING__FORMAT="json",
        LOOM__LOGGING__LEVEL="INFO",
    ) as env:
        endpoints = {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}
        loom = Deployment(env=env, endpoints=endpoints, logs=root)
        loom.loom("db", "upgrade")
        loom.loom("dags", "reparse")
        try:
            with processes_under(root) as processes:
                processes.start([LOOM, "scheduler"], env, name="scheduler")
                processes.start([LOOM, "worker"], env, name="worker")
                processes.start([LOOM, "webserver", "--workers", "2"], env, name="webserver")
                processes.start([LOOM, "notifier"], env, name="notifier")
                for name, url in endpoints.items():
                    wait_until(functools.partial(answers, url), 60, what=f"the {name}'s /metrics")
                yield loom
        finally:
            receiver.shutdown()
            receiver.server_close()


@pytest.fixture(scope="package")
def finished_run(deployment: Deployment) -> str:
    """One run of ``measured``: two tries succeed, the third fails for good."""
    deployment.loom("dags", "trigger", "measured", "--run-id", "measured_once")

    def failed() -> bool:
        return '"failed"' in deployment.loom("runs", "list", "measured", "-o", "json")

    wait_until(failed, 90, interval=0.5, what="the run to fail")
    return "measured_once"


def repo_file(path: str) -> Path:
    return Path(__file__).resolve().parents[2] / path
