"""EmptyOperator tasks finish where they become ready, without a worker (as in Airflow).

When readiness moves an EmptyOperator to ``scheduled``, the same transaction moves it on
to ``success`` by compare-and-set (``scheduled → success``, try 1, no job, no user code)
and settles the tasks right below it, which may be empty too. The scheduler's tick and a
worker's fast-follow both go through here, so a join of EmptyOperators never waits for a
slot or a worker. An EmptyOperator with an ``on_execute_callback`` or an
``on_success_callback`` goes to a worker like any task, so that its callbacks run there.
Each finish writes its attempt row (the UI shows try 1, zero seconds) and the
``task.succeeded`` notification when the task opted in; plugins' listeners are not told
(they are user code, which the scheduler never runs).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG, SerializedTask
from engine.delivery.notifications import emit
from engine.models import DagRun, TaskAttempt, TaskInstance
from engine.models.transitions import set_task_state
from engine.scheduling.readiness import InstanceRow, RunRows, decide_ready, settle
from engine.scheduling.submission import Waiting
from engine.state import TaskInstanceState
from engine.timeutil import log_time

logger = logging.getLogger(__name__)

TI = TaskInstanceState

WORKER_CALLBACKS = frozenset({"on_execute", "on_success"})
"""Callbacks of an EmptyOperator that send it to a worker (they are code to run)."""


def finishes_without_worker(task: SerializedTask) -> bool:
    """Whether the scheduler may mark ``task`` ``success`` as soon as it is ready."""
    return task.is_empty and not WORKER_CALLBACKS.intersection(task.callbacks)


def settle_finishing_empty(
    *, session: Session, dag_run: DagRun, dag: SerializedDAG, rows: RunRows, now: datetime
) -> list[InstanceRow]:
    """:func:`~engine.scheduling.readiness.settle` the run, finishing the EmptyOperators it
    schedules (and those they free, in turn); returns the rows left ``scheduled``."""
    scheduled = settle(session=session, dag_run=dag_run, dag=dag, rows=rows, now=now)
    while True:
        empty = [row for row in scheduled if _is_empty(dag, row.task_id, row.state)]
        finished = [row for row in empty if _finish(session, dag, row, now=now)]
        if not finished:
            return [row for row in scheduled if row.state is TI.SCHEDULED]
        below = _below(dag, (row.task_id for row in finished))
        scheduled = [row for row in scheduled if row.state is TI.SCHEDULED]
        scheduled += settle(
            session=session, dag_run=dag_run, dag=dag, rows=rows, now=now, only=below
        )


def decide_ready_finishing_empty(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    task_ids: Collection[str],
    now: datetime,
) -> list[Waiting]:
    """:func:`~engine.scheduling.readiness.decide_ready` for a worker's fast-follow, the
    EmptyOperators among the ready ones finished here and what they free decided too."""
    ready: list[Waiting] = []
    wanted = set(task_ids)
    while wanted:
        found = decide_ready(session=session, dag_run=dag_run, dag=dag, task_ids=wanted, now=now)
        finished = []
        for waiting in found:
            row = InstanceRow(waiting.id, waiting.task_id, TI.SCHEDULED, waiting.try_number)
            if _is_empty(dag, row.task_id, row.state) and _finish(session, dag, row, now=now):
                finished.append(row.task_id)
            else:
                ready.append(waiting)
        wanted = _below(dag, finished)
    return ready


def _is_empty(dag: SerializedDAG, task_id: str, state: TaskInstanceState) -> bool:
    task = dag.tasks.get(task_id)
    return state is TI.SCHEDULED and task is not None and finishes_without_worker(task)


def _below(dag: SerializedDAG, task_ids: Iterable[str]) -> set[str]:
    return {down for task_id in task_ids for down in dag.tasks[task_id].downstream_task_ids}


def _finish(session: Session, dag: SerializedDAG, row: InstanceRow, *, now: datetime) -> bool:
    """``scheduled → success`` as try ``try_number + 1``, with its attempt row; False when
    another process moved the row first."""
    won = set_task_state(
        session=session, ti_id=row.id, expected=TI.SCHEDULED, new=TI.SUCCESS,
        try_number=row.try_number, increment_try=True,
        queued_at=now, start_date=now, end_date=now, duration=0.0,
    )  # fmt: skip
    if not won:
        return False
    row.state, row.try_number = TI.SUCCESS, row.try_number + 1
    session.add(
        TaskAttempt(
            task_instance_id=row.id, try_number=row.try_number, state=TI.SUCCESS.value,
            start_date=now, end_date=now, log=f"{log_time(now)} EmptyOperator: marked "
            "success by the scheduler, without running on a worker\n",
        )
    )  # fmt: skip
    ti = session.get_one(TaskInstance, row.id)
    emit.task_succeeded(session=session, ti=ti, task=dag.tasks[row.task_id], now=now)
    return True
