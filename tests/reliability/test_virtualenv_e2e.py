"""Virtualenv and external-Python tasks on real processes: ``loom scheduler`` and ``loom
worker`` on PostgreSQL and Redis database 14 (this module's own). The worker builds the
environment under its LOOM_HOME, runs the function in it, and keeps its output in the
try's log; the scheduler never runs the function (nor builds anything)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.virtualenv.wheels import build_wheel
from tests.reliability.conftest import Loom, loom_on_redis
from tests.support.services import redis_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

DAG = """
import sys
from datetime import datetime

from engine import DAG, EmptyOperator, task

with DAG("isolated_e2e", schedule=None, start_date=datetime(2026, 1, 1)):

    @task.virtualenv(
        requirements=["loomtiny==1.0"],
        system_site_packages=False,
        pip_install_options=["--no-index", "--find-links", {wheels!r}],
    )
    def in_venv(x):
        import os
        import sys

        import loomtiny

        print("hello from", sys.prefix, "pid", os.getpid())
        return {{"version": loomtiny.VERSION, "double": x * 2}}

    @task.branch_external_python(python=sys.executable)
    def choose(value):
        return "kept" if value["double"] == 42 else "dropped"

    @task.virtualenv(retries=0)
    def broken():
        raise RuntimeError("the venv task broke")

    choose(in_venv(21)) >> [EmptyOperator(task_id="kept"), EmptyOperator(task_id="dropped")]
    broken()
"""

loom = loom_on_redis(redis_url(14), LOOM__SCHEDULER__HEARTBEAT_INTERVAL="0.5s")


def test_a_worker_runs_virtualenv_tasks_in_a_cached_environment(loom: Loom, tmp_path: Path) -> None:
    build_wheel(tmp_path / "wheels")
    loom.add_dag("isolated_e2e", DAG.format(wheels=str(tmp_path / "wheels")))
    loom.reparse()
    scheduler = loom.scheduler()
    worker = loom.worker()
    loom.trigger("isolated_e2e", "--run-id", "r1")
    assert loom.wait_runs("isolated_e2e", 1, timeout=180) == {"r1": "failed"}

    rows = loom.db.rows("SELECT task_id, state FROM task_instance WHERE dag_id = 'isolated_e2e'")
    assert {row.task_id: row.state for row in rows} == {
        "in_venv": "success",
        "choose": "success",
        "kept": "success",
        "dropped": "skipped",
        "broken": "failed",
    }
    value = loom.db.scalar(
        "SELECT value FROM xcom WHERE dag_id = 'isolated_e2e' AND task_id = 'in_venv' "
        "AND key = 'return_value'"
    )
    assert (json.loads(value) if isinstance(value, str) else value) == {
        "version": "1.0",
        "double": 42,
    }
    logs = {
        row.task_id: row
        for row in loom.db.rows(
            "SELECT ti.task_id, a.log, a.error_message, a.traceback FROM task_attempt a "
            "JOIN task_instance ti ON ti.id = a.task_instance_id "
            "WHERE ti.dag_id = 'isolated_e2e'"
        )
    }
    venvs = list((tmp_path / "loom-home" / "venvs").glob("venv-*[!k]"))
    assert len(venvs) == 2  # the isolated one, and the one with the worker's packages
    hello = logs["in_venv"].log
    assert "hello from" in hello
    assert any(str(venv) in hello for venv in venvs)
    assert f"pid {worker.pid}" not in hello  # a child process, not the worker itself
    assert str(scheduler.pid) not in hello
    assert logs["broken"].error_message == "RuntimeError: the venv task broke"
    assert 'raise RuntimeError("the venv task broke")' in logs["broken"].traceback
