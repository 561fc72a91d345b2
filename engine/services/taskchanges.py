"""Changing task instances by hand: mark one (success, failed, skipped) or clear some so
that they run again. Reading them: :mod:`engine.services.taskinstances`.

What the CLI, the API and the UI call alike. Every function takes ``session``
keyword-only and never commits; the caller owns the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import DagRun, TaskInstance
from engine.models.transitions import set_task_state
from engine.scheduling.wakeup import request_wake
from engine.services.dagversions import load_run_dag
from engine.services.markers import marked_tasks, too_deep
from engine.services.runs import get_run
from engine.services.taskinstances import get_task_instance, mapped_instances, missing_instance
from engine.state import DagRunState, TaskInstanceState

logger = logging.getLogger(__name__)

TI = TaskInstanceState

MARKABLE: frozenset[TaskInstanceState] = frozenset({TI.SUCCESS, TI.FAILED, TI.SKIPPED})
"""States a person may set a task instance to."""


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
    # Here, not at the top: clearing (backfills, dead letters, `loom tasks clear`) writes
    # no alerts and need not load what writes them.
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
            raise missing_instance(run.dag_id, run.run_id, task_id, map_index, sorted(indexes))


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
