"""Creating and changing dag runs: what the scheduler, the CLI and the API call.

Every function takes ``session`` keyword-only and never commits; the caller owns the
transaction. Run ids read ``<run type>__<logical date, ISO 8601>`` unless given, and are
unique per DAG (a unique key; a taken id raises :class:`~engine.errors.ConflictError`
and leaves the caller's transaction usable).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.authoring.params import resolve_params
from engine.authoring.schedules import DataInterval
from engine.authoring.serialization import SerializedDAG, SerializedTask
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Dag, DagRun, DagRunType, SerializedDag, TaskInstance
from engine.priority import PriorityClass
from engine.scheduling.wakeup import request_wake
from engine.services.userinput import check_id, check_json, checked_datetime
from engine.state import DagRunState, TaskInstanceState

logger = logging.getLogger(__name__)

TI = TaskInstanceState


RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:+-]{1,250}")
RUN_ID_ALLOWED = "letters, digits and . _ : + - only, 250 at most"


def make_run_id(run_type: DagRunType, logical_date: datetime) -> str:
    """``scheduled__2026-01-01T00:00:00+00:00`` and the like."""
    return f"{run_type.value}__{logical_date.isoformat()}"


_PARSED_DAGS: dict[tuple[str, str], SerializedDAG] = {}
"""Deserialized DAGs by (dag_id, dag_hash): a hash names one content, so entries never go
stale; a worker or scheduler deciding a 1,000-task DAG would otherwise rebuild it per task."""
_PARSED_DAGS_LIMIT = 256


def load_serialized_dag(*, session: Session, dag_id: str) -> SerializedDAG:
    """The DAG's graph as last parsed. Raises :class:`NotFoundError` when there is none."""
    return load_serialized_dag_and_file(session=session, dag_id=dag_id)[0]


def load_serialized_dag_and_file(*, session: Session, dag_id: str) -> tuple[SerializedDAG, str]:
    """The DAG's graph as last parsed and the file it was parsed from, in one query when
    the graph is cached. Raises :class:`NotFoundError` when there is none."""
    row = session.execute(
        sa.select(SerializedDag.dag_hash, SerializedDag.fileloc).where(
            SerializedDag.dag_id == dag_id
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no DAG {dag_id!r}")
    return _parsed(session, dag_id, row.dag_hash), row.fileloc or ""


def _parsed(session: Session, dag_id: str, digest: str) -> SerializedDAG:
    cached = _PARSED_DAGS.get((dag_id, digest))
    if cached is not None:
        return cached
    data = session.scalar(sa.select(SerializedDag.data).where(SerializedDag.dag_id == dag_id))
    dag = SerializedDAG.from_dict(data or {})
    if len(_PARSED_DAGS) >= _PARSED_DAGS_LIMIT:
        _PARSED_DAGS.clear()
    _PARSED_DAGS[(dag_id, digest)] = dag
    return dag


def create_dag_run(
    *,
    session: Session,
    dag: SerializedDAG,
    run_id: str,
    run_type: DagRunType,
    logical_date: datetime,
    data_interval: DataInterval,
    conf: dict[str, Any] | None,
    run_after: datetime,
    now: datetime,
    triggered_by: str | None = None,
) -> DagRun:
    """Insert a ``queued`` run of ``dag`` and a task instance in ``none`` for each task.

    ``conf`` is checked against the DAG's params (:class:`InvalidInputError`). A taken
    ``run_id`` raises :class:`ConflictError`; the insert runs in a SAVEPOINT, so the
    caller's transaction survives it.
    """
    check_json(conf or {}, field="conf")
    resolve_params(dag.params, conf)
    run = DagRun(
        dag_id=dag.dag_id,
        run_id=run_id,
        logical_date=logical_date,
        data_interval_start=data_interval.start,
        data_interval_end=data_interval.end,
        run_type=run_type,
        state=DagRunState.QUEUED,
        conf=dict(conf or {}),
        run_after=run_after,
        queued_at=now,
        triggered_by=triggered_by,
    )
    run.task_instances = [_new_task_instance(task, run) for task in dag.tasks.values()]
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        raise ConflictError(f"DAG {dag.dag_id!r} already has a run {run_id!r}") from None
    logger.info("dag run %s (%s.%s) created: %s", run.id, dag.dag_id, run_id, run.state)
    return run


def _new_task_instance(task: SerializedTask, run: DagRun) -> TaskInstance:
    return TaskInstance(
        dag_id=run.dag_id,
        run_id=run.run_id,
        task_id=task.task_id,
        state=TI.NONE,
        try_number=0,
        max_tries=task.max_tries,
        priority_class=PriorityClass(task.priority),
        priority_weight=task.priority_weight,
        pool=task.pool,
        pool_slots=task.pool_slots,
        operator=task.operator,
    )


def trigger_dag(
    *,
    session: Session,
    dag_id: str,
    conf: dict[str, Any] | None = None,
    run_id: str | None = None,
    logical_date: datetime | None = None,
    run_after: datetime | None = None,
    now: datetime,
    triggered_by: str | None = None,
) -> DagRun:
    """Create a manual run of ``dag_id``, to start at ``run_after`` (default: now).

    Unknown or inactive DAG → :class:`NotFoundError`; paused DAG or taken run id →
    :class:`ConflictError`; conf that does not fit the params → :class:`InvalidInputError`.
    """
    row = session.get(Dag, dag_id)
    if row is None or not row.is_active:
        raise NotFoundError(f"no active DAG {dag_id!r}")
    if row.is_paused:
        raise ConflictError(f"DAG {dag_id!r} is paused; unpause it to trigger runs")
    if run_id is not None and not run_id.strip():
        raise InvalidInputError("run id must not be empty")
    if run_id is not None:
        check_id(run_id, RUN_ID_PATTERN, field="run_id", allowed=RUN_ID_ALLOWED)
    dag = load_serialized_dag(session=session, dag_id=dag_id)
    when = now if logical_date is None else checked_datetime(logical_date, field="logical_date")
    try:
        interval = dag.schedule.interval_for(when)
    except OverflowError:
        raise InvalidInputError("logical_date: out of range for the DAG's schedule") from None
    request_wake(session=session)
    return create_dag_run(
        session=session,
        dag=dag,
        run_id=run_id or make_run_id(DagRunType.MANUAL, when),
        run_type=DagRunType.MANUAL,
        logical_date=when,
        data_interval=interval,
        conf=conf,
        run_after=now if run_after is None else checked_datetime(run_after, field="run_after"),
        now=now,
        triggered_by=triggered_by,
    )


def get_dag_run(*, session: Session, dag_id: str, run_id: str) -> DagRun:
    """The run ``run_id`` of ``dag_id``; :class:`NotFoundError` when there is none."""
    run = session.scalars(
        sa.select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
    ).one_or_none()
    if run is None:
        raise NotFoundError(f"DAG {dag_id!r} has no run {run_id!r}")
    return run


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
    those named. Running instances are left alone (their worker finishes them). The run
    goes back to ``queued``.
    """
    run = get_dag_run(session=session, dag_id=dag_id, run_id=run_id)
    dag = load_serialized_dag(session=session, dag_id=dag_id)
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
    return wanted


def mark_run(
    *, session: Session, dag_id: str, run_id: str, state: DagRunState, now: datetime
) -> DagRun:
    """Mark a run ``success`` or ``failed`` (by hand); its end date becomes ``now``."""
    if state not in {DagRunState.SUCCESS, DagRunState.FAILED}:
        raise InvalidInputError(f"a run can be marked success or failed, not {state}")
    run = get_dag_run(session=session, dag_id=dag_id, run_id=run_id)
    if run.state is not state:
        logger.info(
            "dag run %s (%s.%s): %s -> %s (marked)", run.id, dag_id, run_id, run.state, state
        )
        run.state = state
        run.end_date = now
        session.flush()
    return run
