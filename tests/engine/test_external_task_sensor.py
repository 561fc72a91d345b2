"""ExternalTaskSensor under ``loom dags test`` on the deployment's (SQLite) database: it
waits for another DAG's run, or some of its tasks, at the run's logical date."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import DAG, ExternalTaskSensor
from engine.authoring.validation import validate_dag
from engine.config import load_settings
from tests.support.cli import dag_folder, loom, ok

WHEN = "2026-03-04T00:00:00+00:00"

UPSTREAM = """
from datetime import datetime
from engine import DAG, BashOperator

with DAG("upstream", schedule=None, start_date=datetime(2026, 1, 1)):
    BashOperator(task_id="load", bash_command="true")
"""

WAITER = """
from datetime import datetime, timedelta
from engine import DAG, ExternalTaskSensor

with DAG("waiter", schedule=None, start_date=datetime(2026, 1, 1)):
    ExternalTaskSensor(
        task_id="wait", external_dag_id="upstream", poke_interval=0.05, timeout={timeout},
        failed_states=["failed"], {options}
    )
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dags = dag_folder(tmp_path / "dags", monkeypatch, {"upstream.py": UPSTREAM})
    ok("dags", "unpause", "upstream")
    ok("dags", "trigger", "upstream", "--run-id", "r", "--logical-date", WHEN)
    return dags


def set_states(run_state: str, task_state: str) -> None:
    engine = sa.create_engine(load_settings().database.url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE dag_run SET state = :s WHERE dag_id = 'upstream'"), {"s": run_state}
        )
        conn.execute(
            sa.text("UPDATE task_instance SET state = :s WHERE dag_id = 'upstream'"),
            {"s": task_state},
        )
    engine.dispose()


def wait(folder: Path, options: str = "", timeout: float = 0.3) -> tuple[str, str | None]:
    (folder / "waiter.py").write_text(WAITER.format(options=options, timeout=timeout))
    result = loom("dags", "test", "waiter", "--logical-date", WHEN, "--output", "json")
    assert result.stdout, (result.output, result.exception)
    [task] = json.loads(result.stdout)["tasks"]
    return task["state"], task["error"]


def test_it_waits_for_the_run_at_the_same_logical_date(folder: Path) -> None:
    state, error = wait(folder)  # the run is only queued: the sensor times out
    assert state == "failed"
    assert "timed out" in str(error)
    set_states("success", "success")
    assert wait(folder) == ("success", None)
    set_states("failed", "failed")
    state, error = wait(folder)
    assert (state, error) == ("failed", "FailTask: DAG 'upstream' (its run) failed: ['failed']")


def test_it_watches_tasks_and_skips_or_checks_existence(folder: Path) -> None:
    set_states("running", "skipped")
    assert wait(folder, 'external_task_id="load", skipped_states=["skipped"]')[0] == "skipped"
    set_states("running", "success")
    assert wait(folder, 'external_task_id="load"') == ("success", None)
    state, error = wait(folder, 'external_task_id="nope", check_existence=True')
    assert (state, error) == ("failed", "FailTask: DAG 'upstream' has no task nope")
    assert wait(folder, "execution_delta=timedelta(days=1)")[0] == "failed"  # no run then


def test_bad_arguments_are_problems_naming_them() -> None:
    with DAG("d") as dag:
        ExternalTaskSensor(
            task_id="t", external_dag_id="x", external_task_id="a", external_task_ids=["b"],
            allowed_states=["done"],
        )  # fmt: skip
    assert [p.message for p in validate_dag(dag)] == [
        "task 't': allowed_states: unknown states ['done']; expected some of ['deferred', "
        "'failed', 'none', 'queued', 'removed', 'running', 'scheduled', 'skipped', "
        "'success', 'up_for_reschedule', 'up_for_retry', 'upstream_failed']",
        "task 't': give external_task_id or external_task_ids, not both",
    ]


def _later(action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` once the sensor has deferred (it polls every 0.05 s meanwhile)."""
    thread = threading.Thread(target=lambda: (time.sleep(0.5), action()))
    thread.start()
    return thread


def test_deferrable_it_waits_on_a_workflow_trigger_then_resumes(folder: Path) -> None:
    set_states("running", "running")
    later = _later(lambda: set_states("running", "failed"))
    options = 'external_task_id="load", deferrable=True'
    state, error = wait(folder, options, timeout=60)
    later.join()
    assert (state, error) == ("failed", "FailTask: DAG 'upstream' (load) failed: ['failed']")
    set_states("running", "running")
    later = _later(lambda: set_states("running", "success"))
    assert wait(folder, options, timeout=60) == ("success", None)
    later.join()


def test_deferrable_it_fails_with_a_deferral_timeout(folder: Path) -> None:
    state, error = wait(folder, "deferrable=True")  # the run stays queued
    assert state == "failed"
    assert str(error).startswith("TaskDeferralTimeout")
