"""ExternalTaskMarker: clearing with downstream reaches into the DAG the marker names, at
the same logical date, marker after marker, no deeper than ``recursion_depth``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import DAG, ExternalTaskMarker
from engine.authoring.validation import validate_dag
from engine.errors import ConflictError
from engine.services.taskchanges import clear_task_instance
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, TI, Rig

SEC = timedelta(seconds=1)
MARKER = "from engine import ExternalTaskMarker\n"


def _drive(rig: Rig) -> None:
    """Tick until nothing more is queued; every task succeeds."""
    scheduler = rig.scheduler()
    done = len(rig.executor.submitted)
    for step in range(12):
        now = START + 100 * SEC + step * SEC
        scheduler.tick(now)
        for job in rig.executor.submitted[done:]:
            rig.work(job, TI.SUCCESS, now)
        if done == len(rig.executor.submitted):
            break
        done = len(rig.executor.submitted)


def _parent_and_child(rig: Rig, *, child_marker: str = "", marker_args: str = "") -> None:
    rig.manual_dag(
        "parent",
        MARKER
        + "p = EmptyOperator(task_id='p')\n"
        + "m = ExternalTaskMarker(task_id='m', external_dag_id='child', "
        + f"external_task_id='c1'{marker_args})\n"
        + "p >> m\n",
    )
    rig.manual_dag(
        "child",
        MARKER
        + "c0 = EmptyOperator(task_id='c0')\n"
        + "c1 = EmptyOperator(task_id='c1')\n"
        + "c2 = EmptyOperator(task_id='c2')\n"
        + "c0 >> c1 >> c2\n"
        + child_marker,
    )
    rig.load()


def _clear_p(rig: Rig, *, downstream: bool) -> list[tuple[str, str]]:
    with rig.sessions.begin() as session:
        cleared = clear_task_instance(
            session=session, dag_id="parent", run_id="r", task_id="p", downstream=downstream,
            now=START + 60 * SEC,
        )  # fmt: skip
        return sorted((ti.dag_id, ti.task_id) for ti in cleared)


def test_clearing_downstream_clears_the_marked_task_and_its_downstream_in_the_other_dag(
    rig: Rig,
) -> None:
    _parent_and_child(rig)
    rig.trigger("parent")
    rig.trigger("child")
    _drive(rig)
    assert set(rig.states("child").values()) == {TI.SUCCESS}
    assert "m" not in rig.executor.task_ids  # the scheduler finished the marker

    cleared = _clear_p(rig, downstream=True)

    assert cleared == [("child", "c1"), ("child", "c2"), ("parent", "m"), ("parent", "p")]
    assert rig.states("child") == {"c0": TI.SUCCESS, "c1": TI.NONE, "c2": TI.NONE}
    assert rig.runs("child")[0].state is DagRunState.QUEUED
    _drive(rig)
    assert set(rig.states("child").values()) == {TI.SUCCESS}


def test_clearing_without_downstream_leaves_the_other_dag_alone(rig: Rig) -> None:
    _parent_and_child(rig)
    rig.trigger("parent")
    rig.trigger("child")
    _drive(rig)

    assert _clear_p(rig, downstream=False) == [("parent", "p")]
    assert set(rig.states("child").values()) == {TI.SUCCESS}


def test_a_marker_reaches_only_the_run_at_its_logical_date(rig: Rig) -> None:
    _parent_and_child(rig, marker_args=", logical_date='2020-01-01T00:00:00+00:00'")
    rig.trigger("parent")
    rig.trigger("child")
    _drive(rig)

    assert _clear_p(rig, downstream=True) == [("parent", "m"), ("parent", "p")]
    assert set(rig.states("child").values()) == {TI.SUCCESS}


def test_the_date_template_follows_the_marker_to_an_earlier_run(rig: Rig) -> None:
    _parent_and_child(rig, marker_args=", logical_date='2025-12-31T00:00:00+00:00'")
    rig.trigger("parent")
    rig.trigger("child", logical_date=START.replace(year=2025, month=12, day=31, hour=0))
    _drive(rig)

    assert ("child", "c1") in _clear_p(rig, downstream=True)


def test_markers_that_form_a_cycle_stop_at_the_recursion_depth(rig: Rig) -> None:
    _parent_and_child(
        rig,
        marker_args=", recursion_depth=3",
        child_marker="c2 >> ExternalTaskMarker(task_id='back', external_dag_id='parent', "
        "external_task_id='p', recursion_depth=3)\n",
    )
    rig.trigger("parent")
    rig.trigger("child")
    _drive(rig)

    with pytest.raises(
        ConflictError, match="maximum recursion depth 3 reached for ExternalTaskMarker"
    ):
        _clear_p(rig, downstream=True)


def test_a_date_template_that_needs_task_code_is_refused_naming_the_marker(rig: Rig) -> None:
    _parent_and_child(rig, marker_args=", logical_date='{{ my_macro() }}'")
    rig.trigger("parent")
    rig.trigger("child")
    _drive(rig)

    with pytest.raises(ConflictError, match="ExternalTaskMarker 'm': cannot render"):
        _clear_p(rig, downstream=True)


def test_the_marker_checks_its_arguments() -> None:
    with DAG("d") as dag:
        ExternalTaskMarker(
            task_id="m", external_dag_id="x", external_task_id="y", recursion_depth=0,
            execution_date="{{ ds }}",
        )  # fmt: skip
    assert [p.message for p in validate_dag(dag)] == [
        "task 'm': unknown argument 'execution_date' to ExternalTaskMarker (renamed to "
        "logical_date in Airflow 3)",
        "task 'm': recursion_depth must be above 0, not 0",
    ]
