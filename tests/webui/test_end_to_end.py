"""Trigger through the API → the run executes on a real ``loom worker`` (RQ, Redis db 11)
→ its state, task instances and logs are read back through the API, on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.executors import RQExecutor
from engine.models.session import create_db_engine, make_session_factory
from engine.parser import ParseOptions, refresh_dags
from engine.scheduling.scheduler import Scheduler
from engine.timeutil import utcnow
from tests.support.services import flushed_redis, redis_url
from tests.webui.conftest import app_for, bearer, login
from tests.webui.world import build_world

REDIS_URL = redis_url(11)
# The RQ executor on the tests' Redis database: the app's settings, the workers' environment.
ON_RQ = {"executor": {"kind": "rq"}, "redis": {"url": REDIS_URL}}
RQ_ENV = {"LOOM__EXECUTOR__KIND": "rq", "LOOM__REDIS__URL": REDIS_URL}
WORKER = [sys.executable, "-c", "from workers.cli import command; command()", "--burst"]


pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@dataclass(frozen=True)
class OnRQ:
    """The test world on PostgreSQL, an app that runs its tasks on RQ, and a User's API
    session with it."""

    url: str
    home: Path
    dags_folder: Path
    client: FlaskClient
    headers: dict[str, str]


@pytest.fixture
def on_rq(postgres_url: str, tmp_path: Path) -> Iterator[OnRQ]:
    with flushed_redis(REDIS_URL):
        world = build_world(postgres_url, tmp_path / "dags")
        client = app_for(postgres_url, tmp_path, world.dags_folder, **ON_RQ).test_client()
        headers = bearer(login(client, "user")["access_token"])
        yield OnRQ(postgres_url, tmp_path, world.dags_folder, client, headers)


def test_trigger_run_on_a_worker_and_read_state_and_logs(on_rq: OnRQ) -> None:
    client, headers = on_rq.client, on_rq.headers
    created = client.post("/api/v2/dags/example/dagRuns", json={"conf": {"n": 42}}, headers=headers)
    assert created.status_code == 200, created.get_json()
    run_path = f"/api/v2/dags/example/dagRuns/{created.get_json()['dag_run_id']}"

    run_until_done(on_rq, run_path)

    run = client.get(run_path, headers=headers).get_json()
    assert run["state"] == "success"
    tis = client.get(f"{run_path}/taskInstances", headers=headers).get_json()["task_instances"]
    assert {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in tis} == {
        "extract": ("success", 1),
        "load": ("success", 1),
    }
    log_path = f"{run_path}/taskInstances/extract/logs/1"
    log = client.get(log_path, headers=headers).get_json()
    assert "extracting 42" in _text(log)
    # The finished try's log is all there: nothing follows its continuation token.
    rest = client.get(f"{log_path}?token={log['continuation_token']}", headers=headers)
    assert rest.get_json()["content"] == []


def _text(log: dict[str, Any]) -> str:
    """A log answer's lines (Airflow 3's structured ``content``) as text."""
    return "\n".join(line["event"] for line in log["content"])


README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_dag() -> str:
    """The DAG the README teaches with (its first Python block)."""
    return README.read_text().split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_dag_runs_a_hostile_conf_as_data_not_as_commands(
    on_rq: OnRQ, tmp_path: Path
) -> None:
    """A User triggered the README's DAG with shell syntax in conf; the worker ran it."""
    client, headers = on_rq.client, on_rq.headers
    (on_rq.dags_folder / "orders.py").write_text(_readme_dag())
    marker = tmp_path / "pwned"
    attack = f"x'; touch {marker}; echo \"$(touch {marker})\" '"
    reparse(on_rq.url, on_rq.dags_folder)
    refused = client.post(
        "/api/v2/dags/orders/dagRuns", json={"conf": {"region": ["eu"]}}, headers=headers
    )
    assert refused.status_code == 422, refused.get_json()
    created = client.post(
        "/api/v2/dags/orders/dagRuns", json={"conf": {"region": attack}}, headers=headers
    )
    assert created.status_code == 200, created.get_json()
    run_path = f"/api/v2/dags/orders/dagRuns/{created.get_json()['dag_run_id']}"

    run_until_done(on_rq, run_path)

    assert client.get(run_path, headers=headers).get_json()["state"] == "success"
    log = client.get(f"{run_path}/taskInstances/report/logs/1", headers=headers).get_json()
    assert f"{attack}: 6" in _text(log)
    assert not marker.exists()


def reparse(url: str, dags: Path) -> None:
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            refresh_dags(
                session=session, options=ParseOptions(dags, timeout=60, parallelism=1), now=utcnow()
            )
    finally:
        engine.dispose()


def run_until_done(on_rq: OnRQ, run_path: str, *, redis_url: str = REDIS_URL) -> None:
    """Scheduler ticks in this process, burst workers in child processes, until the run ends."""
    client, url, tmp_path = on_rq.client, on_rq.url, on_rq.home
    app_settings = client.application.extensions["loom.settings"]
    engine = create_db_engine(url)
    scheduler = Scheduler(
        session_factory=make_session_factory(engine),
        executor=RQExecutor(redis_url),
        settings=app_settings,
        parse_dags=False,
    )
    worker_env = {
        **os.environ,
        **RQ_ENV,
        "LOOM__REDIS__URL": redis_url,
        "LOOM__DATABASE__URL": url,
        "LOOM__CORE__DAGS_FOLDER": str(on_rq.dags_folder),
        "LOOM_HOME": str(tmp_path / "w"),
    }
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            scheduler.tick(utcnow())
            state = client.get(run_path, headers=on_rq.headers).get_json()["state"]
            if state in {"success", "failed"}:
                return
            done = subprocess.run(
                WORKER, env=worker_env, capture_output=True, timeout=60, cwd=tmp_path
            )
            assert done.returncode == 0, done.stderr.decode()[-3000:]
        raise AssertionError("the run did not finish within 90 s")
    finally:
        engine.dispose()
