"""TriggerDagRunOperator under ``loom dags test`` on the deployment's (SQLite) database:
the triggered run is created through the run service, an existing run id is skipped,
refused or cleared as asked, and bad arguments are import problems naming them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine import DAG, TriggerDagRunOperator
from engine.authoring.validation import validate_dag
from engine.config import load_settings
from tests.support.cli import dag_folder, loom, ok

TARGET = """
from datetime import datetime
from engine import DAG, EmptyOperator

with DAG("target", schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="only")
"""

CONTROLLER = """
from datetime import datetime
from engine import DAG, TriggerDagRunOperator

with DAG("controller", schedule=None, start_date=datetime(2026, 1, 1)):
    TriggerDagRunOperator(
        task_id="go", trigger_dag_id="target", trigger_run_id="fixed",
        conf={{"from": "{{{{ run_id }}}}"}}, {options}
    )
"""


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = dag_folder(tmp_path / "dags", monkeypatch, {"target.py": TARGET})
    ok("dags", "unpause", "target")
    return folder


def controller_test(folder: Path, options: str = "") -> tuple[str, Any]:
    (folder / "controller.py").write_text(CONTROLLER.format(options=options))
    result = loom("dags", "test", "controller", "--output", "json")
    report = json.loads(result.stdout)
    [task] = report["tasks"]
    return task["state"], task["error"]


def target_run() -> dict[str, Any]:
    result = loom("runs", "show", "target", "fixed", "--output", "json")
    assert result.exit_code == 0, result.output
    run: dict[str, Any] = json.loads(result.stdout)
    return run


def test_the_run_is_created_then_an_existing_one_is_refused_skipped_or_cleared(
    deployment: Path,
) -> None:
    assert controller_test(deployment) == ("success", None)
    run = target_run()
    assert run["conf"] == {"from": run["conf"]["from"]}
    assert str(run["conf"]["from"]).startswith("test__")

    state, error = controller_test(deployment)
    assert state == "failed"
    assert "DAG 'target' already has run 'fixed' (reset_dag_run=True clears it" in error
    assert controller_test(deployment, "skip_when_already_exists=True")[0] == "skipped"
    assert controller_test(deployment, "reset_dag_run=True") == ("success", None)
    assert target_run()["state"] == "queued"  # cleared: it runs again


def test_an_unknown_target_fails_the_task_naming_it(deployment: Path) -> None:
    (deployment / "target.py").unlink()
    assert loom("dags", "reparse").exit_code == 0
    state, error = controller_test(deployment)
    assert state == "failed"
    assert error.startswith("FailTask: cannot trigger DAG 'target': ")


def test_a_paused_target_fails_the_task_and_creates_no_run(deployment: Path) -> None:
    """Unlike ``loom dags trigger``, the API and the UI, which create a run that waits."""
    ok("dags", "pause", "target")
    state, error = controller_test(deployment)
    assert state == "failed"
    assert error == (
        "FailTask: cannot trigger DAG 'target': DAG 'target' is paused; unpause it to trigger runs"
    )
    assert loom("runs", "show", "target", "fixed", "--output", "json").exit_code != 0


def test_bad_arguments_are_problems_naming_them() -> None:
    with DAG("d") as dag:
        TriggerDagRunOperator(
            task_id="t", trigger_dag_id="", poke_interval=0, allowed_states=["done"]
        )
    assert [p.message for p in validate_dag(dag)] == [
        "task 't': allowed_states: unknown DAG run states ['done']; expected some of "
        "queued, running, success, failed",
        "task 't': trigger_dag_id must be a DAG id, got ''",
        "task 't': poke_interval must be a positive number, got 0",
    ]


def test_deferrable_waits_on_a_dag_state_trigger_then_resumes(deployment: Path) -> None:
    def finish_target() -> None:
        engine = sa.create_engine(load_settings().database.url)
        for _ in range(600):  # once the run exists (the task deferred on it)
            with engine.begin() as conn:
                done = conn.execute(
                    sa.text("UPDATE dag_run SET state = 'success' WHERE run_id = 'fixed'")
                )
            if done.rowcount:
                break
            time.sleep(0.05)
        engine.dispose()

    later = threading.Thread(target=finish_target)
    later.start()
    options = "wait_for_completion=True, deferrable=True, poke_interval=0.05"
    assert controller_test(deployment, options) == ("success", None)
    later.join()
    assert target_run()["state"] == "success"
