"""Task instances of a run, read: get one, list them, their tries, and a try's log chunk
(changing them, mark and clear: :mod:`engine.services.taskchanges`; their XComs:
:mod:`engine.services.xcoms`).

What the CLI, the API and the UI call alike. Every function takes ``session``
keyword-only and never commits; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer, joinedload

from engine.authoring.serialization import SerializedDAG
from engine.durations import seconds_between
from engine.errors import InvalidInputError, NotFoundError
from engine.models import DagRun, TaskAttempt, TaskInstance
from engine.services.pagination import order_columns, within_dags
from engine.services.runs import get_run
from engine.services.tasklogs import LogChunk as LogChunk
from engine.services.tasklogs import log_chunk as log_chunk
from engine.state import TaskInstanceState, summary_state


def get_task_instance(
    *, session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> TaskInstance:
    """One task instance (``map_index`` -1: that of a task that is not mapped).

    :class:`NotFoundError` naming the DAG, the run, the task or the map index;
    :class:`InvalidInputError` on ``map_index`` naming the choices when the task is mapped
    and no map index was given.
    """
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    ti = session.scalar(
        sa.select(TaskInstance).where(
            TaskInstance.dag_run_id == run.id,
            TaskInstance.task_id == task_id,
            TaskInstance.map_index == map_index,
        )
    )
    if ti is None:
        indexes = session.scalars(
            sa.select(TaskInstance.map_index)
            .where(TaskInstance.dag_run_id == run.id, TaskInstance.task_id == task_id)
            .order_by(TaskInstance.map_index)
        ).all()
        raise missing_instance(dag_id, run_id, task_id, map_index, list(indexes))
    return ti


def missing_instance(
    dag_id: str, run_id: str, task_id: str, map_index: int, indexes: list[int]
) -> Exception:
    """The error for a task without instance ``map_index``, given the map indexes it has
    (sorted; none: the run has no such task)."""
    if not indexes:
        return NotFoundError(f"run {run_id!r} of DAG {dag_id!r} has no task {task_id!r}")
    choices = describe_indexes(indexes)
    if map_index == -1:
        problem = f"task {task_id!r} is mapped: give a map_index, one of {choices}"
        return InvalidInputError(f"map_index: {problem}", problems={"map_index": [problem]})
    return NotFoundError(
        f"task {task_id!r} of run {run_id!r} has no map_index {map_index} (it has {choices})"
    )


def describe_indexes(indexes: list[int]) -> str:
    """Sorted map indexes as a person reads them: ``0..3`` when contiguous, else listed."""
    if len(indexes) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{indexes[0]}..{indexes[-1]}"
    return ", ".join(str(i) for i in indexes)


def mapped_instance_query(
    *, session: Session, dag_id: str, run_id: str, task_id: str
) -> sa.Select[Any]:
    """Every instance of a task in a run (an unmapped task's one, -1);
    :class:`NotFoundError` when the run has no such task."""
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    stmt = task_instance_query(run).where(TaskInstance.task_id == task_id)
    if session.scalar(stmt.with_only_columns(TaskInstance.id).limit(1)) is None:
        raise NotFoundError(f"run {run_id!r} of DAG {dag_id!r} has no task {task_id!r}")
    return stmt


def mapped_instances(
    *, session: Session, dag_id: str, run_id: str, task_id: str
) -> list[TaskInstance]:
    """Every instance of a task in a run, by map index; see :func:`mapped_instance_query`."""
    stmt = mapped_instance_query(session=session, dag_id=dag_id, run_id=run_id, task_id=task_id)
    return list(session.scalars(stmt.order_by(TaskInstance.map_index)))


TASK_INSTANCE_ORDER = order_columns(
    TaskInstance.task_id,
    TaskInstance.map_index,
    TaskInstance.state,
    TaskInstance.start_date,
    TaskInstance.end_date,
    TaskInstance.priority_weight,
)
"""Columns task instance lists may be ordered by."""


def task_instance_query(
    run: DagRun | None, *, states: Collection[str] | None = None
) -> sa.Select[Any]:
    """The task instances of ``run`` (None: of every run), optionally only those in
    ``states``."""
    stmt = sa.select(TaskInstance)
    if run is not None:
        stmt = stmt.where(TaskInstance.dag_run_id == run.id)
    if states:
        stmt = stmt.where(TaskInstance.state.in_(sorted(states)))
    return stmt


def task_instance_list_query(
    *,
    dag_ids: Collection[str] | None,
    run: DagRun | None = None,
    states: Collection[str] | None = None,
    task_id: str | None = None,
) -> sa.Select[Any]:
    """Task instances for a list, each with its run: of ``dag_ids`` (None: every DAG), of
    ``run`` when given, in ``states`` and of ``task_id`` when given; unordered (the caller
    pages them)."""
    stmt = within_dags(task_instance_query(run, states=states), TaskInstance.dag_id, dag_ids)
    if task_id:
        stmt = stmt.where(TaskInstance.task_id == task_id)
    return with_runs(stmt)


def with_runs(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """``stmt`` (of task instances) loading each one's run in the same query."""
    return stmt.options(joinedload(TaskInstance.dag_run))


def task_ids_in(
    *, session: Session, run: DagRun, states: Collection[TaskInstanceState]
) -> list[str]:
    """The ids of ``run``'s tasks with an instance in one of ``states``, sorted."""
    stmt = sa.select(TaskInstance.task_id).where(
        TaskInstance.dag_run_id == run.id, TaskInstance.state.in_(states)
    )
    return sorted(set(session.scalars(stmt)))


def task_instances(*, session: Session, run: DagRun) -> list[TaskInstance]:
    """The run's task instances, in start order (unstarted last, by task id)."""
    rows = list(session.scalars(task_instance_query(run)))
    return sorted(
        rows,
        key=lambda ti: (
            ti.start_date is None,
            ti.start_date or run.logical_date,
            ti.task_id,
            ti.map_index,
        ),
    )


def in_dag_order(tis: Iterable[TaskInstance], dag: SerializedDAG) -> list[TaskInstance]:
    """``tis`` in the DAG's order (:attr:`SerializedDAG.order`), each task's instances by
    map index; tasks the graph no longer has come last, by task id."""
    position = {task_id: index for index, task_id in enumerate(dag.order)}
    last = len(position)
    return sorted(tis, key=lambda ti: (position.get(ti.task_id, last), ti.task_id, ti.map_index))


def dag_order_clauses(dag: SerializedDAG) -> list[sa.ColumnElement[Any]]:
    """ORDER BY clauses listing one DAG's task instances run by run, each run's in the
    DAG's order (as :func:`in_dag_order`), for lists ordered in SQL."""
    position = sa.case(
        {task_id: index for index, task_id in enumerate(dag.order)},
        value=TaskInstance.task_id,
        else_=len(dag.order),
    )
    return [
        TaskInstance.dag_run_id.asc(),
        position.asc(),
        TaskInstance.task_id.asc(),
        TaskInstance.map_index.asc(),
    ]


def task_states(*, session: Session, run: DagRun) -> dict[str, TaskInstanceState]:
    """Each task's state in ``run``, by task id (a mapped task's summed up over its
    instances, as the scheduler sees it)."""
    stmt = sa.select(TaskInstance.task_id, TaskInstance.state).where(
        TaskInstance.dag_run_id == run.id
    )
    by_task: dict[str, list[TaskInstanceState]] = {}
    for row in session.execute(stmt):
        by_task.setdefault(row.task_id, []).append(row.state)
    return {task_id: summary_state(states) for task_id, states in by_task.items()}


def task_instance_row(ti: TaskInstance) -> dict[str, Any]:
    """A task instance as a flat, JSON-friendly row."""
    return {
        "task_id": ti.task_id,
        "map_index": ti.map_index,
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
        "next_poke_at": ti.next_poke_at,
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
