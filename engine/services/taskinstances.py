"""Task instances of a run: list, get, mark, clear, their XComs and a try's log chunk.

What the CLI, the API and the UI call alike. Every function takes ``session``
keyword-only and never commits; the caller owns the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer

from engine.authoring.serialization import SerializedDAG
from engine.durations import seconds_between
from engine.errors import InvalidInputError, NotFoundError
from engine.models import DagRun, TaskAttempt, TaskInstance, XCom
from engine.scheduling.wakeup import request_wake
from engine.services.dagversions import load_run_dag
from engine.services.pagination import order_columns
from engine.services.runs import get_run
from engine.state import FINISHED, DagRunState, TaskInstanceState

logger = logging.getLogger(__name__)

TI = TaskInstanceState

MARKABLE: frozenset[TaskInstanceState] = frozenset({TI.SUCCESS, TI.FAILED, TI.SKIPPED})
"""States a person may set a task instance to."""


# -- reading ---------------------------------------------------------------------------------


def get_task_instance(*, session: Session, dag_id: str, run_id: str, task_id: str) -> TaskInstance:
    """One task instance; :class:`NotFoundError` naming the DAG, the run or the task."""
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    ti = session.scalar(
        sa.select(TaskInstance).where(
            TaskInstance.dag_run_id == run.id, TaskInstance.task_id == task_id
        )
    )
    if ti is None:
        raise NotFoundError(f"run {run_id!r} of DAG {dag_id!r} has no task {task_id!r}")
    return ti


TASK_INSTANCE_ORDER = order_columns(
    TaskInstance.task_id,
    TaskInstance.state,
    TaskInstance.start_date,
    TaskInstance.end_date,
    TaskInstance.priority_weight,
)
"""Columns task instance lists may be ordered by."""


def task_instance_query(run: DagRun, *, states: Collection[str] | None = None) -> sa.Select[Any]:
    """The task instances of ``run``, optionally only those in ``states``."""
    stmt = sa.select(TaskInstance).where(TaskInstance.dag_run_id == run.id)
    if states:
        stmt = stmt.where(TaskInstance.state.in_(sorted(states)))
    return stmt


def task_instances(*, session: Session, run: DagRun) -> list[TaskInstance]:
    """The run's task instances, in start order (unstarted last, by task id)."""
    rows = list(session.scalars(task_instance_query(run)))
    return sorted(
        rows, key=lambda ti: (ti.start_date is None, ti.start_date or run.logical_date, ti.task_id)
    )


def task_states(*, session: Session, run: DagRun) -> dict[str, TaskInstanceState]:
    """Each task's state in ``run``, by task id."""
    stmt = sa.select(TaskInstance.task_id, TaskInstance.state).where(
        TaskInstance.dag_run_id == run.id
    )
    return {row.task_id: row.state for row in session.execute(stmt)}


def task_instance_row(ti: TaskInstance) -> dict[str, Any]:
    """A task instance as a flat, JSON-friendly row."""
    return {
        "task_id": ti.task_id,
        "state": ti.state.value,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "priority": ti.priority_class.value,
        "start_date": ti.start_date,
        "end_date": ti.end_date,
        "duration": ti.duration
        if ti.duration is not None
        else seconds_between(ti.start_date, ti.end_date),
        "hostname": ti.hostname,
        "next_retry_at": ti.next_retry_at,
    }


def attempts_of(*, session: Session, ti: TaskInstance) -> list[TaskAttempt]:
    """The tries of ``ti`` in order, without their logs (which may be long)."""
    stmt = (
        sa.select(TaskAttempt)
        .where(TaskAttempt.task_instance_id == ti.id)
        .options(defer(TaskAttempt.log), defer(TaskAttempt.traceback))
        .order_by(TaskAttempt.try_number)
    )
    return list(session.scalars(stmt))


def xcoms_of(*, session: Session, ti: TaskInstance) -> list[XCom]:
    """The XComs ``ti`` published, by key."""
    stmt = sa.select(XCom).where(
        XCom.dag_id == ti.dag_id, XCom.run_id == ti.run_id, XCom.task_id == ti.task_id
    )
    return list(session.scalars(stmt.order_by(XCom.key)))


# -- changing --------------------------------------------------------------------------------


def mark_task_instance(
    *,
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    state: TaskInstanceState,
    now: datetime,
) -> TaskInstance:
    """Set a task instance to ``success``, ``failed`` or ``skipped`` by hand.

    The transition table decides what is allowed (IllegalTransitionError otherwise); a
    running try's worker then loses its finishing compare-and-set and changes nothing.
    """
    if state not in MARKABLE:
        allowed = ", ".join(sorted(MARKABLE))
        raise InvalidInputError(f"state: a task instance can be marked {allowed}, not {state}")
    ti = get_task_instance(session=session, dag_id=dag_id, run_id=run_id, task_id=task_id)
    if ti.state is not state:
        ti.state = state
        ti.end_date = now
        ti.next_retry_at = None
        session.flush()
    return ti


def clear_task_instance(
    *, session: Session, dag_id: str, run_id: str, task_id: str, downstream: bool, now: datetime
) -> list[TaskInstance]:
    """Clear one task instance (and, with ``downstream``, every task downstream of it);
    :class:`NotFoundError` naming the run's missing task first."""
    get_task_instance(session=session, dag_id=dag_id, run_id=run_id, task_id=task_id)
    return clear_task_instances(
        session=session,
        dag_id=dag_id,
        run_id=run_id,
        task_ids=[task_id],
        downstream=downstream,
        now=now,
    )


def clear_task_instances(
    *,
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: Iterable[str] | None = None,
    downstream: bool = False,
    now: datetime,
) -> list[TaskInstance]:
    """Put task instances back to ``none`` so that they run again, with fresh tries.

    ``task_ids`` None clears the whole run; ``downstream`` adds every task downstream of
    those named; the setups they work within and those setups' teardowns come along
    (as in Airflow). Running instances are left alone (their worker finishes them). The run
    goes back to ``queued``.
    """
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    dag = load_run_dag(session=session, run=run).dag  # the graph the run was created with
    wanted = _clear_set(dag, task_ids, downstream=downstream)
    cleared = [
        ti for ti in run.task_instances if ti.task_id in wanted and ti.state is not TI.RUNNING
    ]
    for ti in cleared:
        task = dag.tasks.get(ti.task_id)
        ti.state = TI.NONE
        ti.max_tries = ti.try_number + (task.max_tries if task else 1)
        ti.next_retry_at = ti.end_date = ti.start_date = ti.job_id = None
        ti.deadline_missed_at = None  # a new start, a new deadline
    if cleared and run.state is not DagRunState.QUEUED:
        run.state = DagRunState.QUEUED
        run.queued_at, run.end_date, run.start_date = now, None, None
        run.deadline_missed_at = None
    session.flush()
    request_wake(session=session)
    logger.info("cleared %s task instances of %s.%s", len(cleared), dag_id, run_id)
    return cleared


def _clear_set(dag: SerializedDAG, task_ids: Iterable[str] | None, *, downstream: bool) -> set[str]:
    if task_ids is None:
        return set(dag.tasks)
    wanted = set(task_ids)
    unknown = wanted - set(dag.tasks)
    if unknown:
        raise NotFoundError(f"DAG {dag.dag_id!r} has no task {', '.join(sorted(unknown))}")
    todo = list(wanted) if downstream else []
    while todo:
        for child in dag.tasks[todo.pop()].downstream_task_ids:
            if child not in wanted:
                wanted.add(child)
                todo.append(child)
    # A task runs within its setups: clearing it clears them and their teardowns.
    return dag.setups_and_teardowns.clear_with(wanted)


# -- logs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogChunk:
    """Part of one try's log: ``content`` starts at ``offset``; ask again from ``next_offset``.

    Offsets count characters of the try's whole output, so they stay valid while the kept
    tail of a long log moves on: an ``offset`` beyond the one asked for means the output
    in between was cut (core.max_log_bytes).
    """

    try_number: int
    state: str
    content: str
    offset: int
    next_offset: int
    truncated: bool
    """The captured log was cut (it keeps the tail) because it passed core.max_log_bytes."""
    complete: bool
    """The try has finished: nothing will be added."""


def log_chunk(
    *, session: Session, ti: TaskInstance, try_number: int | None, offset: int = 0
) -> LogChunk:
    """Try ``try_number``'s log (default: the latest try with a log) from ``offset`` on.

    A running try's log grows as the worker streams it (core.log_stream_interval).
    NotFoundError for a try that does not exist, or when no try has started yet.
    """
    if try_number is not None and not 1 <= try_number <= max(ti.try_number, 0):
        raise NotFoundError(
            f"task {ti.task_id!r} has no try {try_number} (it is at try {ti.try_number})"
        )
    query = sa.select(TaskAttempt).where(TaskAttempt.task_instance_id == ti.id)
    if try_number is not None:
        query = query.where(TaskAttempt.try_number == try_number)
    attempt = session.scalar(query.order_by(TaskAttempt.try_number.desc()).limit(1))
    if attempt is None:
        if try_number is None:
            raise NotFoundError(
                f"task {ti.task_id!r} has no log yet: no try has started (state {ti.state.value})"
            )
        # A try that never started (or whose row is still to come): nothing will be added
        # once the task instance has moved past it.
        over = ti.state in FINISHED or try_number < ti.try_number
        return LogChunk(try_number, ti.state.value, "", 0, 0, False, over)
    text, kept_from = attempt.log or "", attempt.log_start
    start = min(max(offset - kept_from, 0), len(text))
    return LogChunk(
        try_number=attempt.try_number,
        state=attempt.state,
        content=text[start:],
        offset=kept_from + start,
        next_offset=kept_from + len(text),
        truncated=attempt.log_truncated,
        complete=attempt.state != TI.RUNNING.value,
    )
