"""Per-task scheduling knobs on the real scheduler: weight_rule, queue, per-task
concurrency limits, depends_on_past and wait_for_downstream."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from engine.executors.base import TaskJob
from engine.models import TaskInstance
from engine.models.transitions import set_task_state
from tests.engine.scheduling.conftest import START, TI, Rig

DAY = timedelta(days=1)


def _trigger(rig: Rig, dag_id: str, run_id: str, day: int = 0) -> None:
    rig.trigger(dag_id, run_id, logical_date=START + day * DAY)


def _column(rig: Rig, dag_id: str, column: str) -> dict[str, Any]:
    with rig.sessions() as session:
        rows = session.execute(
            sa.select(TaskInstance.task_id, getattr(TaskInstance, column)).where(
                TaskInstance.dag_id == dag_id
            )
        )
        return dict(rows.all())


def test_weight_rules_add_up_the_graph_and_name_the_queue(rig: Rig) -> None:
    rig.manual_dag(
        "weights",
        """
            a = EmptyOperator(task_id='a', queue='gpu')
            b = EmptyOperator(task_id='b', priority_weight=10, weight_rule='absolute')
            c = EmptyOperator(task_id='c')
            d = EmptyOperator(task_id='d', weight_rule='upstream')
            a >> [b, c] >> d
        """,
    )
    rig.load()
    _trigger(rig, "weights", "r")
    assert _column(rig, "weights", "priority_weight") == {
        "a": 1 + 10 + 1 + 1,  # d counted once, though two paths lead to it
        "b": 10,
        "c": 2,
        "d": 1 + 10 + 1 + 1,
    }
    queues = _column(rig, "weights", "queue")
    assert queues == {
        "a": "loom.gpu",
        "b": "loom.default",
        "c": "loom.default",
        "d": "loom.default",
    }
    rig.scheduler().tick(START)
    [job] = rig.executor.submitted
    assert (job.task_id, job.queue) == ("a", "loom.gpu")


def test_max_active_tis_per_dag_holds_the_second_run_back(rig: Rig) -> None:
    rig.manual_dag(
        "limited",
        """
            EmptyOperator(task_id='t', max_active_tis_per_dag=1)
            EmptyOperator(task_id='free', max_active_tis_per_dagrun=1)
        """,
    )
    rig.load()
    _trigger(rig, "limited", "r1", day=0)
    _trigger(rig, "limited", "r2", day=1)
    scheduler = rig.scheduler()
    scheduler.tick(START)
    assert sorted(rig.executor.task_ids) == ["free", "free", "t"]
    [first] = [job for job in rig.executor.submitted if job.task_id == "t"]
    rig.work(first, TI.SUCCESS, START)
    scheduler.tick(START + timedelta(seconds=1))
    assert sorted(rig.executor.task_ids) == ["free", "free", "t", "t"]


def _finish(rig: Rig, job: TaskJob, outcome: TI) -> None:
    with rig.sessions.begin() as session:
        assert set_task_state(
            session=session, ti_id=job.ti_id, expected=TI.RUNNING, new=outcome,
            try_number=job.try_number, end_date=START,
        )  # fmt: skip


def test_depends_on_past_waits_for_the_previous_runs_instance(rig: Rig) -> None:
    rig.manual_dag(
        "past",
        """
            a = EmptyOperator(task_id='a', wait_for_downstream=True)
            b = EmptyOperator(task_id='b')
            c = EmptyOperator(task_id='c', depends_on_past=True)
            a >> b
        """,
    )
    rig.load()
    _trigger(rig, "past", "r1", day=0)
    _trigger(rig, "past", "r2", day=1)
    scheduler = rig.scheduler()
    scheduler.tick(START)
    assert rig.states("past", "r2") == {"a": TI.NONE, "b": TI.NONE, "c": TI.NONE}
    jobs = {job.task_id: job for job in rig.executor.submitted}
    assert sorted(jobs) == ["a", "c"]  # run 1's: it has no previous run
    rig.work(jobs["a"], TI.SUCCESS, START)
    rig.work(jobs["c"], TI.RUNNING, START)
    scheduler.tick(START)
    b1 = next(job for job in rig.executor.submitted if job.task_id == "b")
    # run 1's a succeeded, but its downstream b has not finished: run 2's a still waits
    assert rig.states("past", "r2")["a"] is TI.NONE
    rig.work(b1, TI.SKIPPED, START)
    _finish(rig, jobs["c"], TI.FAILED)
    scheduler.tick(START)
    got = rig.states("past", "r2")
    assert got["a"] is TI.QUEUED  # b skipped counts as done
    assert got["c"] is TI.NONE  # its previous instance failed: it waits, never fails


def test_task_limits_are_those_of_the_runs_version(rig: Rig) -> None:
    rig.manual_dag("limited", "EmptyOperator(task_id='t', max_active_tis_per_dag=1)")
    rig.load()
    _trigger(rig, "limited", "r1", day=0)
    _trigger(rig, "limited", "r2", day=1)
    rig.manual_dag("limited", "EmptyOperator(task_id='t')")  # a new version, no limit
    rig.load(now=START + timedelta(seconds=1))
    rig.scheduler().tick(START + timedelta(seconds=2))
    assert rig.executor.task_ids == ["t"]  # both runs are on the version with the limit
