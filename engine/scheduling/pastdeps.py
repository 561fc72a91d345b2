"""Past dependencies: ``depends_on_past``, ``wait_for_downstream``,
``ignore_first_depends_on_past``, as in Airflow.

A task with ``depends_on_past`` runs only once its instance in the previous run (by
logical date) succeeded or was skipped; with ``wait_for_downstream``, also the instances
of its direct downstream tasks there. Until then it stays in ``none``. The previous run is
the latest with an earlier logical date: of any type when the DAG has no catchup, not a
manual one when it has. No previous run: nothing to wait for. A previous run without the
task (it was added since) blocks, unless ``ignore_first_depends_on_past`` is set and the
task has never run before.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.models import DagRun, DagRunType, TaskInstance
from engine.state import TaskInstanceState

TI = TaskInstanceState

PAST_DONE = frozenset({TI.SUCCESS, TI.SKIPPED})
"""The states of a previous instance that let the next run's instance go."""


def blocked_by_past(
    *, session: Session, dag_run: DagRun, dag: SerializedDAG, task_ids: Collection[str]
) -> set[str]:
    """The tasks of ``task_ids`` that must wait for their previous run."""
    tasks = [dag.tasks[t] for t in task_ids if dag.tasks[t].depends_on_past]
    if not tasks:
        return set()
    previous = previous_run(session=session, dag_run=dag_run, catchup=dag.catchup)
    if previous is None:
        return set()
    needed = {t.task_id for t in tasks}
    needed.update(d for t in tasks if t.wait_for_downstream for d in t.downstream_task_ids)
    before = _states(session=session, dag_run_id=previous.id, task_ids=needed)
    blocked = set()
    for task in tasks:
        downstream = task.downstream_task_ids if task.wait_for_downstream else ()
        if task.task_id not in before:
            if task.ignore_first_depends_on_past and not _ever_ran(
                session=session, dag_run=dag_run, task_id=task.task_id
            ):
                continue
            blocked.add(task.task_id)
        elif any(before.get(t, TI.SUCCESS) not in PAST_DONE for t in (task.task_id, *downstream)):
            blocked.add(task.task_id)
    return blocked


def previous_run(*, session: Session, dag_run: DagRun, catchup: bool) -> DagRun | None:
    """The run before ``dag_run`` by logical date (manual runs count without catchup)."""
    stmt = sa.select(DagRun).where(
        DagRun.dag_id == dag_run.dag_id, DagRun.logical_date < dag_run.logical_date
    )
    if catchup:
        stmt = stmt.where(DagRun.run_type != DagRunType.MANUAL)
    return session.scalars(stmt.order_by(DagRun.logical_date.desc()).limit(1)).first()


def _states(*, session: Session, dag_run_id: int, task_ids: Collection[str]) -> dict[str, TI]:
    rows = session.execute(
        sa.select(TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_run_id == dag_run_id, TaskInstance.task_id.in_(sorted(task_ids))
        )
    )
    return dict(rows.all())


def _ever_ran(*, session: Session, dag_run: DagRun, task_id: str) -> bool:
    """Whether the task has an instance in any run before ``dag_run``."""
    stmt = (
        sa.select(TaskInstance.id)
        .join(DagRun, DagRun.id == TaskInstance.dag_run_id)
        .where(
            TaskInstance.dag_id == dag_run.dag_id,
            TaskInstance.task_id == task_id,
            DagRun.logical_date < dag_run.logical_date,
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None
