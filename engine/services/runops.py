"""What the API reads and changes about runs and task instances, beyond :mod:`engine.services.runs`.

Filtered run and task-instance lists, deleting a run, marking a task instance by hand,
its XComs, and a try's log read from an offset (for tailing).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import InvalidInputError, NotFoundError
from engine.models import DagRun, DeadLetter, TaskAttempt, TaskInstance, XCom
from engine.services.queries import get_run, get_task_instance
from engine.state import FINISHED, TaskInstanceState

TI = TaskInstanceState

MARKABLE: frozenset[TaskInstanceState] = frozenset({TI.SUCCESS, TI.FAILED, TI.SKIPPED})
"""States a person may set a task instance to."""


@dataclass(frozen=True)
class RunFilter:
    """What to keep when listing dag runs; None keeps everything."""

    dag_ids: Collection[str] | None = None
    states: Collection[str] | None = None
    run_types: Collection[str] | None = None
    logical_date_gte: datetime | None = None
    logical_date_lte: datetime | None = None
    start_date_gte: datetime | None = None
    start_date_lte: datetime | None = None


RUN_ORDER: dict[str, Any] = {
    "id": DagRun.id,
    "dag_id": DagRun.dag_id,
    "run_id": DagRun.run_id,
    "logical_date": DagRun.logical_date,
    "start_date": DagRun.start_date,
    "end_date": DagRun.end_date,
    "state": DagRun.state,
}
"""Columns run lists may be ordered by."""


def run_query(filters: RunFilter) -> sa.Select[Any]:
    """The dag runs matching ``filters`` (unordered: the caller pages them)."""
    stmt = sa.select(DagRun)
    if filters.dag_ids is not None:
        stmt = stmt.where(DagRun.dag_id.in_(sorted(filters.dag_ids)))
    if filters.states:
        stmt = stmt.where(DagRun.state.in_(sorted(filters.states)))
    if filters.run_types:
        stmt = stmt.where(DagRun.run_type.in_(sorted(filters.run_types)))
    bounds = (
        (DagRun.logical_date, filters.logical_date_gte, filters.logical_date_lte),
        (DagRun.start_date, filters.start_date_gte, filters.start_date_lte),
    )
    for column, low, high in bounds:
        if low is not None:
            stmt = stmt.where(column >= low)
        if high is not None:
            stmt = stmt.where(column <= high)
    return stmt


def delete_run(*, session: Session, dag_id: str, run_id: str) -> None:
    """Forget one run: its task instances, tries, XComs and dead letters. Never commits.

    A worker still running one of its tries finds its task instance gone and changes
    nothing (its finish is a compare-and-set on a row that no longer exists).
    """
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    session.execute(sa.delete(XCom).where(XCom.dag_id == dag_id, XCom.run_id == run_id))
    session.execute(
        sa.delete(DeadLetter).where(DeadLetter.dag_id == dag_id, DeadLetter.run_id == run_id)
    )
    session.delete(run)
    session.flush()


TASK_INSTANCE_ORDER: dict[str, Any] = {
    "task_id": TaskInstance.task_id,
    "state": TaskInstance.state,
    "start_date": TaskInstance.start_date,
    "end_date": TaskInstance.end_date,
    "priority_weight": TaskInstance.priority_weight,
}
"""Columns task instance lists may be ordered by."""


def task_instance_query(run: DagRun, *, states: Collection[str] | None) -> sa.Select[Any]:
    """The task instances of ``run``, optionally only those in ``states``."""
    stmt = sa.select(TaskInstance).where(TaskInstance.dag_run_id == run.id)
    if states:
        stmt = stmt.where(TaskInstance.state.in_(sorted(states)))
    return stmt


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


def xcoms_of(*, session: Session, ti: TaskInstance) -> list[XCom]:
    """The XComs ``ti`` published, by key."""
    stmt = sa.select(XCom).where(
        XCom.dag_id == ti.dag_id, XCom.run_id == ti.run_id, XCom.task_id == ti.task_id
    )
    return list(session.scalars(stmt.order_by(XCom.key)))


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
