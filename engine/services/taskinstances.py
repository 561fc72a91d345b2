"""Task instances of a run: list, get, mark, clear, and a try's log chunk (their XComs:
:mod:`engine.services.xcoms`).

What the CLI, the API and the UI call alike. Every function takes ``session``
keyword-only and never commits; the caller owns the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer, joinedload

from engine.authoring.serialization import SerializedDAG
from engine.durations import seconds_between
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import DagRun, TaskAttempt, TaskInstance
from engine.models.transitions import set_task_state
from engine.scheduling.wakeup import request_wake
from engine.services.dagversions import load_run_dag
from engine.services.markers import marked_tasks, too_deep
from engine.services.pagination import order_columns, within_dags
from engine.services.runs import get_run
from engine.services.tasklogs import LogChunk as LogChunk
from engine.services.tasklogs import log_chunk as log_chunk
from engine.state import DagRunState, TaskInstanceState, summary_state

logger = logging.getLogger(__name__)

TI = TaskInstanceState

MARKABLE: frozenset[TaskInstanceState] = frozenset({TI.SUCCESS, TI.FAILED, TI.SKIPPED})
"""States a person may set a task instance to."""


# -- reading ---------------------------------------------------------------------------------


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
        raise _missing_instance(dag_id, run_id, task_id, map_index, list(indexes))
    return ti


def _missing_instance(
    dag_id: str, run_id: str, task_id: str, map_index: int, indexes: list[int]
) -> Exception:
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


def task_instance_query(run: DagRun, *, states: Collection[str] | None = None) -> sa.Select[Any]:
    """The task instances of ``run``, optionally only those in ``states``."""
    stmt = sa.select(TaskInstance).where(TaskInstance.dag_run_id == run.id)
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
    stmt = within_dags(sa.select(TaskInstance), TaskInstance.dag_id, dag_ids)
    if run is not None:
        stmt = stmt.where(TaskInstance.dag_run_id == run.id)
    if states:
        stmt = stmt.where(TaskInstance.state.in_(sorted(states)))
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


# -- changing --------------------------------------------------------------------------------


def mark_task_instance(
    *,
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = -1,
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
    ti = get_task_instance(
        session=session, dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index
    )
    if ti.state is state:
        return ti
    logger.info("task instance %s (%s.%s.%s): %s -> %s (marked)", ti.id, dag_id, run_id,
                ti.task_id, ti.state, state)  # fmt: skip
    if not set_task_state(
        session=session, ti_id=ti.id, expected=ti.state, new=state, try_number=ti.try_number,
        end_date=now, next_retry_at=None, next_poke_at=None, trigger_id=None,
        next_method=None, next_kwargs=None, trigger_timeout=None,
    ):  # fmt: skip
        raise ConflictError(f"task {task_id!r} of run {run_id!r} changed meanwhile; try again")
    _alert_marked(session, ti, now)
    return ti


def _alert_marked(session: Session, ti: TaskInstance, now: datetime) -> None:
    """The alert of a task instance marked by hand, as if it had ended so."""
    # Here, not at the top: reading task instances never writes alerts.
    from engine.delivery.notifications import emit

    task = load_run_dag(session=session, run=ti.dag_run).dag.tasks.get(ti.task_id)
    if task is not None:
        emit.task_marked(session=session, ti=ti, task=task, now=now)


def clear_task_instance(
    *,
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int | None = None,
    downstream: bool,
    now: datetime,
) -> list[TaskInstance]:
    """Clear a task (every instance of a mapped one, or only ``map_index``; and, with
    ``downstream``, every task downstream of it); :class:`NotFoundError` naming the
    run's missing task or map index first."""
    if map_index is None:
        mapped_instances(session=session, dag_id=dag_id, run_id=run_id, task_id=task_id)
    else:
        get_task_instance(
            session=session, dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index
        )
    return clear_task_instances(
        session=session,
        dag_id=dag_id,
        run_id=run_id,
        task_ids=[task_id],
        downstream=downstream,
        map_index=map_index,
        now=now,
    )


def clear_task_instances(
    *,
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: Iterable[str] | None = None,
    downstream: bool = False,
    map_index: int | None = None,
    now: datetime,
) -> list[TaskInstance]:
    """Put task instances back to ``none`` so that they run again, with fresh tries.

    ``task_ids`` None clears the whole run; ``downstream`` adds every task downstream of
    those named, and follows the ExternalTaskMarkers among them into the DAGs they name
    (see :mod:`engine.services.markers`); the setups they work within and those setups'
    teardowns come along (as in Airflow). ``map_index`` keeps only that instance of the
    named tasks (the tasks downstream are cleared whole). Running instances are left
    alone (their worker finishes them). Each run cleared goes back to ``queued``.
    """
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    return _clear(session, run, task_ids, downstream, map_index, now, depth=0)


def _clear(
    session: Session,
    run: DagRun,
    task_ids: Iterable[str] | None,
    downstream: bool,
    map_index: int | None,
    now: datetime,
    *,
    depth: int,
) -> list[TaskInstance]:
    dag = load_run_dag(session=session, run=run).dag  # the graph the run was created with
    wanted = _clear_set(dag, task_ids, downstream=downstream)
    named = set(task_ids or ()) if map_index is not None else set()
    _check_map_index(run, named, map_index)
    cleared = [
        ti
        for ti in run.task_instances
        if ti.task_id in wanted
        and ti.state is not TI.RUNNING
        and (ti.task_id not in named or ti.map_index == map_index)
    ]
    _reset(session, dag, run, cleared, now)
    logger.info("cleared %s task instances of %s.%s", len(cleared), run.dag_id, run.run_id)
    if downstream:
        for marked in marked_tasks(session=session, dag=dag, run=run, task_ids=wanted):
            if depth >= marked.recursion_depth:
                raise too_deep(marked)
            cleared += _clear(
                session, marked.run, [marked.task_id], True, None, now, depth=depth + 1
            )
    return cleared


def _reset(
    session: Session, dag: SerializedDAG, run: DagRun, cleared: list[TaskInstance], now: datetime
) -> None:
    for ti in cleared:
        task = dag.tasks.get(ti.task_id)
        ti.state = TI.NONE
        ti.max_tries = ti.try_number + (task.max_tries if task else 1)
        ti.next_retry_at = ti.end_date = ti.start_date = ti.job_id = None
        ti.deadline_missed_at = None  # a new start, a new deadline
        ti.next_poke_at = ti.first_poke_at = None  # a sensor's timeout counts afresh
        ti.poke_count = 0
        ti.trigger_id = ti.next_method = ti.next_kwargs = ti.trigger_timeout = None
    if cleared and run.state is not DagRunState.QUEUED:
        run.state = DagRunState.QUEUED
        run.queued_at, run.end_date, run.start_date = now, None, None
        run.deadline_missed_at = None
    session.flush()
    request_wake(session=session)


def _check_map_index(run: DagRun, task_ids: set[str], map_index: int | None) -> None:
    """NotFoundError naming a task of ``task_ids`` that has no instance ``map_index``."""
    have: dict[str, list[int]] = {task_id: [] for task_id in task_ids}
    for ti in run.task_instances:
        if ti.task_id in have:
            have[ti.task_id].append(ti.map_index)
    for task_id, indexes in sorted(have.items()):
        if map_index is not None and map_index not in indexes:
            raise _missing_instance(run.dag_id, run.run_id, task_id, map_index, sorted(indexes))


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
