"""Fail fast: in a run of a ``fail_fast`` DAG, a task that failed stops the others.

As in Airflow: once a task of the run has failed (for good: ``failed``, not
``up_for_retry``), its running tasks become ``failed`` and the tasks that have not run
yet (``none``, ``scheduled``, ``queued``, ``up_for_retry``) become ``skipped``; teardown
tasks are left alone, so that they still clean up. A running task is stopped the way a
task marked failed by hand is: its row moves, its worker's heartbeat finds it no longer
running and stops, and its finish loses the compare-and-set and changes nothing.

Only failures since the run (re)started count: a task that failed before the run was
cleared does not stop the tasks that clearing put back. Every move is a compare-and-set
on ``(state, try_number)``, so a worker finishing a task at the same moment either wins
(and the next tick stops what is left) or loses and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.models import DagRun, TaskInstance
from engine.models.transitions import set_task_state
from engine.scheduling.readiness import InstanceRow, RunRows
from engine.state import TaskInstanceState

logger = logging.getLogger(__name__)

TI = TaskInstanceState

STOP_MOVES: dict[TaskInstanceState, TaskInstanceState] = {
    TI.NONE: TI.SKIPPED,
    TI.SCHEDULED: TI.SKIPPED,
    TI.QUEUED: TI.SKIPPED,
    TI.UP_FOR_RETRY: TI.SKIPPED,
    TI.UP_FOR_RESCHEDULE: TI.SKIPPED,
    TI.RUNNING: TI.FAILED,
    TI.DEFERRED: TI.FAILED,  # a try in progress, as a running one
}
"""Where fail fast moves each unfinished state."""


def stop_after_failure(
    *, session: Session, dag_run: DagRun, dag: SerializedDAG, rows: RunRows, now: datetime
) -> list[str]:
    """In a ``fail_fast`` run with a failed task, stop every other unfinished task but the
    teardowns; ``rows`` is updated in place. Returns the ids of the tasks it stopped."""
    if not dag.fail_fast or not _failed_since_start(session, dag_run, rows):
        return []
    stopped = []
    for task_id, row in _instances(rows):
        new = STOP_MOVES.get(row.state)
        task = dag.tasks.get(task_id)
        if new is None or task is None or task.is_teardown:
            continue
        moved = set_task_state(
            session=session,
            ti_id=row.id,
            expected=row.state,
            new=new,
            try_number=row.try_number,
            end_date=now,
            next_retry_at=None,
        )
        if moved:
            logger.info(
                "dag run %s.%s: %s[%s] %s -> %s (fail_fast)",
                dag_run.dag_id, dag_run.run_id, task_id, row.map_index, row.state, new,
            )  # fmt: skip
            row.state = new
            stopped.append(task_id)
    return stopped


def failed_by_fail_fast(dag: SerializedDAG, states: Mapping[str, TaskInstanceState]) -> bool:
    """Whether a ``fail_fast`` run has a failed task that is not a teardown: such a run
    fails, whatever its leaves ended as (the tasks after the failure were skipped)."""
    return dag.fail_fast and any(
        state is TI.FAILED and task_id in dag.tasks and not dag.tasks[task_id].is_teardown
        for task_id, state in states.items()
    )


def _failed_since_start(session: Session, dag_run: DagRun, rows: RunRows) -> bool:
    failed = [row.id for _, row in _instances(rows) if row.state is TI.FAILED]
    if not failed:
        return False  # the common case: nothing to read
    if dag_run.start_date is None:
        return True
    stmt = sa.select(sa.func.count()).where(
        TaskInstance.id.in_(failed), TaskInstance.end_date >= dag_run.start_date
    )
    return bool(session.scalar(stmt))


def _instances(rows: RunRows) -> Iterator[tuple[str, InstanceRow]]:
    """Every instance of the run with its task id (a mapped task has several)."""
    for task_id, group in rows.items():
        for row in group:
            yield task_id, row
