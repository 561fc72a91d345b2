"""Deadline misses: a scheduler step that fires each one once.

A task's ``deadline`` and a DAG's run ``deadline`` are timedeltas from the run's start.
Each full tick, for the running runs of DAGs that set any deadline:

* the run is past ``start_date + dag.deadline`` → ``dag_run.deadline_missed``;
* a task instance that has not finished is past ``start_date + task.deadline`` →
  ``task.deadline_missed``.

"Once" is a compare-and-set on a marker: ``UPDATE ... SET deadline_missed_at = now
WHERE id = :id AND deadline_missed_at IS NULL``; only the scheduler whose update wins
writes the event, in the same transaction. Repeated ticks and a second scheduler
change nothing; clearing the run (a new start) resets the markers. A deadline only
alerts: nothing is stopped (``dagrun_timeout`` and ``execution_timeout`` do that).
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.delivery.notifications.emit import dag_run_deadline_missed, task_deadline_missed
from engine.models import DagRun, TaskInstance
from engine.services.dagversions import load_run_dags
from engine.state import UNFINISHED, DagRunState

logger = logging.getLogger(__name__)


def fire_missed_deadlines(*, session: Session, now: datetime) -> int:
    """Write an event for every deadline found missed at ``now``; how many."""
    fired = 0
    runs = _running_runs(session)
    dags = load_run_dags(session=session, run_ids=[run.id for run in runs])
    for run in runs:
        found = dags.get(run.id)  # the run's DAG version: its deadlines are the run's
        if found is None or not _has_deadlines(found.dag):
            continue
        fired += _check_run(session, run, found.dag, now)
        fired += _check_tasks(session, run, found.dag, now)
    return fired


def _has_deadlines(dag: SerializedDAG) -> bool:
    return dag.deadline is not None or any(t.deadline for t in dag.tasks.values())


def _running_runs(session: Session) -> list[DagRun]:
    return list(
        session.scalars(
            sa.select(DagRun)
            .where(DagRun.state == DagRunState.RUNNING, DagRun.start_date.is_not(None))
            .order_by(DagRun.dag_id, DagRun.id)
        )
    )


def _check_run(session: Session, run: DagRun, dag: SerializedDAG, now: datetime) -> int:
    if dag.deadline is None or run.start_date is None or run.deadline_missed_at is not None:
        return 0
    due_at = run.start_date + dag.deadline
    if now <= due_at or not _mark(session, DagRun, run.id, now):
        return 0
    logger.warning("dag run %s.%s missed its deadline (%s)", run.dag_id, run.run_id, due_at)
    dag_run_deadline_missed(
        session=session, dag_run=run, dag=dag, deadline=dag.deadline, due_at=due_at, now=now
    )
    return 1


def _check_tasks(session: Session, run: DagRun, dag: SerializedDAG, now: datetime) -> int:
    start = run.start_date
    assert start is not None
    overdue = {
        task_id: task
        for task_id, task in dag.tasks.items()
        if task.deadline is not None and now > start + task.deadline
    }
    if not overdue:
        return 0
    tis = session.scalars(
        sa.select(TaskInstance).where(
            TaskInstance.dag_run_id == run.id,
            TaskInstance.task_id.in_(sorted(overdue)),
            TaskInstance.state.in_(sorted(UNFINISHED)),
            TaskInstance.deadline_missed_at.is_(None),
        )
    ).all()
    fired = 0
    for ti in tis:
        task = overdue[ti.task_id]
        assert task.deadline is not None
        if not _mark(session, TaskInstance, ti.id, now):
            continue
        due_at = start + task.deadline
        logger.warning("task instance %s.%s.%s missed its deadline (%s)", ti.dag_id, ti.run_id,
                       ti.task_id, due_at)  # fmt: skip
        task_deadline_missed(
            session=session, ti=ti, dag_run=run, task=task, deadline=task.deadline,
            due_at=due_at, now=now,
        )  # fmt: skip
        fired += 1
    return fired


def _mark(
    session: Session, model: type[DagRun] | type[TaskInstance], pk: int, now: datetime
) -> bool:
    """Set the row's marker if nobody has: True when this call did (the compare-and-set)."""
    result = session.execute(
        sa.update(model)
        .where(model.id == pk, model.deadline_missed_at.is_(None))
        .values(deadline_missed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))
