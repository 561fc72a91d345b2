"""``loom dags test`` on mapped task groups: the same per-index values, trigger rules and
branch choices as the scheduler's (see test_groups_end_to_end.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from engine.execution.dagtest import DagTestRun
from engine.state import DagRunState
from engine.state import TaskInstanceState as S
from tests.support.mappedgroups import write_group_dag


def _run(tmp_path: Path, **values: Any) -> Any:
    write_group_dag(tmp_path, **values)
    spec = importlib.util.spec_from_file_location("group_dag", tmp_path / "mapping.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return DagTestRun(module.dag, retry_delay_scale=0, echo=lambda _: None).run()


def _states(report: Any, task_id: str) -> list[S]:
    return [i.state for i in report.tasks[task_id].instances]


def test_values_and_branches_per_map_index(tmp_path: Path) -> None:
    report = _run(tmp_path)

    assert report.state is DagRunState.SUCCESS
    assert _states(report, "grp.double") == [S.SUCCESS] * 3
    assert _states(report, "pick.a") == [S.SUCCESS, S.SKIPPED, S.SUCCESS]
    assert _states(report, "pick.b") == [S.SKIPPED, S.SUCCESS, S.SKIPPED]


def test_a_failure_stays_in_its_map_index(tmp_path: Path) -> None:
    report = _run(tmp_path, FAIL_AT=2)

    assert _states(report, "grp.add") == [S.SUCCESS, S.FAILED, S.SUCCESS]
    assert _states(report, "grp.double") == [S.SUCCESS, S.UPSTREAM_FAILED, S.SUCCESS]
    assert _states(report, "grp.note") == [S.SUCCESS] * 3
    assert report.tasks["total"].state is S.UPSTREAM_FAILED


def test_an_empty_expansion_skips_the_group(tmp_path: Path) -> None:
    report = _run(tmp_path, MAKE="[]")

    for task_id in ("grp.add", "grp.double", "grp.note", "total"):
        assert report.tasks[task_id].state is S.SKIPPED
