"""The CLI lists tasks in DAG order (upstream first, ties in the file's order):
``loom dags show``, ``loom runs show`` and the summary of ``loom dags test``; and
``loom dags trigger`` refuses a DAG whose file does not import unless ``--force``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import dag_folder, loom, ok
from tests.support.dagfiles import ORDERED
from tests.support.dagfiles import ORDERED_DAG_ORDER as DAG_ORDER


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = dag_folder(tmp_path / "dags", monkeypatch, {"ordered.py": ORDERED})
    ok("dags", "unpause", "ordered")
    return folder


def test_dags_show_lists_tasks_in_dag_order(deployment: Path) -> None:
    shown = json.loads(ok("dags", "show", "ordered", "--output", "json"))
    assert [task["task_id"] for task in shown["tasks"]] == DAG_ORDER


def test_runs_show_lists_task_instances_in_dag_order(deployment: Path) -> None:
    ok("dags", "trigger", "ordered", "--run-id", "r1")
    shown = json.loads(ok("runs", "show", "ordered", "r1", "--output", "json"))
    assert [ti["task_id"] for ti in shown["task_instances"]] == DAG_ORDER


def test_dags_test_summary_lists_tasks_in_dag_order(deployment: Path) -> None:
    result = loom("dags", "test", "ordered", "--output", "json")
    assert result.exit_code == 0, result.output
    assert [row["task_id"] for row in json.loads(result.stdout)["tasks"]] == DAG_ORDER
    table = ok("dags", "test", "ordered").splitlines()
    listed = [
        line.split()[0] for line in table if line.split()[:1] and line.split()[0] in DAG_ORDER
    ]
    assert listed == DAG_ORDER


def test_dags_trigger_refuses_a_dag_whose_file_does_not_import_unless_forced(
    deployment: Path,
) -> None:
    (deployment / "ordered.py").write_text(ORDERED + "import module_that_is_not_there\n")
    ok("dags", "reparse")
    refused = loom("dags", "trigger", "ordered", "--run-id", "r1")
    assert refused.exit_code != 0
    assert "DAG file does not import" in refused.output
    assert "module_that_is_not_there" in refused.output
    forced = ok("dags", "trigger", "ordered", "--run-id", "r1", "--force")
    assert "Created run r1" in forced
