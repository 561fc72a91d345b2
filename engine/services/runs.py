"""Dag runs: trigger, get, list, mark and delete one; what the scheduler and every edge
(CLI, API, UI) call. Task instances of a run are :mod:`engine.services.taskinstances`
(clearing and marking them: :mod:`engine.services.taskchanges`).

Every function takes ``session`` keyword-only and never commits; the caller owns the
transaction. Run ids read ``<run type>__<logical date, ISO 8601>`` unless given, and are
unique per DAG (a unique key; a taken id raises :class:`~engine.errors.ConflictError`
and leaves the caller's transaction usable).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from engine.authoring.expansion import expansion_length, literal_only
from engine.authoring.params import resolve_params
from engine.authoring.serialization import SerializedDAG, SerializedTask
from engine.authoring.timetables.base import DataInterval
from engine.durations import seconds_between
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Dag, DagRun, DagRunType, TaskInstance, XCom
from engine.models.transitions import set_run_state, set_task_states
from engine.priority import PriorityClass, queue_name
from engine.scheduling.wakeup import request_wake
from engine.services.brokenfiles import refuse_if_broken
from engine.services.dags import require_dag
from engine.services.dagversions import latest_dag_version, load_run_dags
from engine.services.pagination import Page, order_columns, paginate, within_dags
from engine.services.userinput import check_id, check_json, checked_datetime
from engine.state import UNFINISHED, DagRunState, TaskInstanceState
from engine.timeutil import plain_utc

logger = logging.getLogger(__name__)

TI = TaskInstanceState


RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:+-]{1,250}")
RUN_ID_ALLOWED = "letters, digits and . _ : + - only, 250 at most"


def make_run_id(run_type: DagRunType, logical_date: datetime) -> str:
    """``scheduled__2026-01-01T00:00:00+00:00`` and the like."""
    return f"{run_type.value}__{logical_date.isoformat()}"


def create_dag_run(
    *,
    session: Session,
    dag: SerializedDAG,
    dag_version_id: int | None,
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

    ``dag_version_id`` is the version ``dag`` is (:func:`latest_dag_version`): the run is
    scheduled on that graph to its end, whatever the file becomes.

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
        dag_version_id=dag_version_id,
    )
    run.task_instances = [
        _new_task_instance(task, run, map_index)
        for task in dag.tasks.values()
        for map_index in _initial_map_indexes(dag.expansion_of(task.task_id))
    ]
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        raise ConflictError(f"DAG {dag.dag_id!r} already has a run {run_id!r}") from None
    logger.info("dag run %s (%s.%s) created: %s", run.id, dag.dag_id, run_id, run.state)
    return run


def _initial_map_indexes(spec: dict[str, Any] | None) -> range:
    """A mapped task over literals (``spec``, its expansion) has its instances from the
    start; one over upstream values (or over nothing) has a placeholder, -1, until the
    scheduler expands it."""
    if spec is not None and literal_only(spec):
        length = expansion_length(spec, lambda task_id: None)
        if length:
            return range(length)
    return range(-1, 0)


def _new_task_instance(task: SerializedTask, run: DagRun, map_index: int = -1) -> TaskInstance:
    named = {"queue": queue_name(task.queue)} if task.queue else {}  # else the class's queue
    return TaskInstance(
        dag_id=run.dag_id,
        run_id=run.run_id,
        task_id=task.task_id,
        map_index=map_index,
        state=TI.NONE,
        try_number=0,
        max_tries=task.max_tries,
        priority_class=PriorityClass(task.priority),
        priority_weight=task.priority_weight_total,
        pool=task.pool,
        pool_slots=task.pool_slots,
        operator=task.operator,
        **named,
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
    refuse_broken: bool = False,
) -> DagRun:
    """Create a manual run of ``dag_id``, to start at ``run_after`` (default: now).

    A paused DAG's run is created all the same and waits, queued, until the DAG is
    unpaused (Airflow's behaviour; docs/decisions.md). Unknown or inactive DAG →
    :class:`NotFoundError`; taken run id or (with ``refuse_broken``: a person's trigger
    that is not forced) a DAG whose file does not import now → :class:`ConflictError`;
    conf that does not fit the params → :class:`InvalidInputError`.
    """
    row = session.get(Dag, dag_id)
    if row is None or not row.is_active:
        raise NotFoundError(f"no active DAG {dag_id!r}")
    if refuse_broken:
        refuse_if_broken(session=session, dag_id=dag_id)
    if run_id is not None and not run_id.strip():
        raise InvalidInputError("run id must not be empty")
    if run_id is not None:
        check_id(run_id, RUN_ID_PATTERN, field="run_id", allowed=RUN_ID_ALLOWED)
    dag, version_id = latest_dag_version(session=session, dag_id=dag_id)
    when = now if logical_date is None else checked_datetime(logical_date, field="logical_date")
    try:
        interval = dag.schedule.infer_manual_data_interval(run_after=when)
        interval = DataInterval(plain_utc(interval.start), plain_utc(interval.end))
    except OverflowError:
        raise InvalidInputError("logical_date: out of range for the DAG's schedule") from None
    request_wake(session=session)
    return create_dag_run(
        session=session,
        dag=dag,
        dag_version_id=version_id,
        run_id=run_id or make_run_id(DagRunType.MANUAL, when),
        run_type=DagRunType.MANUAL,
        logical_date=when,
        data_interval=interval,
        conf=conf,
        run_after=now if run_after is None else checked_datetime(run_after, field="run_after"),
        now=now,
        triggered_by=triggered_by,
    )


def mark_run(
    *, session: Session, dag_id: str, run_id: str, state: DagRunState, now: datetime
) -> DagRun:
    """Mark a run ``success`` or ``failed`` (by hand); its end date becomes ``now``.

    Its unfinished task instances end with it, as in Airflow: marked ``success`` they all
    succeed; marked ``failed`` the started ones (running, deferred, waiting for a poke)
    fail and the others are skipped. A running try's worker then loses its finishing
    compare-and-set and queues nothing after it.

    A compare-and-set, so the change (and its alert, written in the same transaction)
    happens once; a run that moved meanwhile is a :class:`ConflictError`.
    """
    if state not in {DagRunState.SUCCESS, DagRunState.FAILED}:
        raise InvalidInputError(f"a run can be marked success or failed, not {state}")
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    if run.state is state:
        return run
    logger.info("dag run %s (%s.%s): %s -> %s (marked)", run.id, dag_id, run_id, run.state, state)
    if not set_run_state(
        session=session, run_id_pk=run.id, expected=run.state, new=state, end_date=now
    ):
        raise ConflictError(f"run {run_id!r} of {dag_id!r} changed state meanwhile; try again")
    _end_unfinished_tasks(session, run, state, now)
    _alert_marked_run(session, run, state, now)
    return run


STARTED_STATES = frozenset(
    {TaskInstanceState.RUNNING, TaskInstanceState.DEFERRED, TaskInstanceState.UP_FOR_RESCHEDULE}
)
"""Unfinished task instances whose try has begun: a run marked failed fails them."""


def _end_unfinished_tasks(session: Session, run: DagRun, state: DagRunState, now: datetime) -> None:
    rows = session.execute(
        sa.select(TaskInstance.id, TaskInstance.state, TaskInstance.try_number).where(
            TaskInstance.dag_run_id == run.id, TaskInstance.state.in_(UNFINISHED)
        )
    ).all()
    by_state: dict[TaskInstanceState, list[tuple[int, int]]] = {}
    for ti_id, ti_state, try_number in rows:
        by_state.setdefault(ti_state, []).append((ti_id, try_number))
    for ti_state, moves in by_state.items():
        if state is DagRunState.SUCCESS:
            new = TaskInstanceState.SUCCESS
        elif ti_state in STARTED_STATES:
            new = TaskInstanceState.FAILED
        else:
            new = TaskInstanceState.SKIPPED
        # Lost moves (a worker finished meanwhile) keep the state the worker wrote.
        set_task_states(
            session=session, moves=moves, expected=ti_state, new=new, end_date=now,
            next_retry_at=None, next_poke_at=None, trigger_id=None, next_method=None,
            next_kwargs=None, trigger_timeout=None,
        )  # fmt: skip


def _alert_marked_run(session: Session, run: DagRun, state: DagRunState, now: datetime) -> None:
    """The run's ``dag_run.succeeded`` / ``dag_run.failed`` alert, as if it had ended so
    (its DAG's callbacks are not run: a person decided, no task did)."""
    # Here, not at the top: reading and triggering runs never write alerts (see delete_run).
    from engine.delivery.notifications import emit

    dag = load_run_dags(session=session, run_ids=[run.id]).get(run.id)
    if dag is None:
        logger.warning("dag run %s.%s marked %s: its DAG is gone, no alert", run.dag_id,
                       run.run_id, state)  # fmt: skip
        return
    error = emit.MARKED_FAILED if state is DagRunState.FAILED else None
    emit.dag_run_finished(
        session=session, dag_run=run, dag=dag.dag, state=state, now=now, error=error
    )


def delete_run(*, session: Session, dag_id: str, run_id: str) -> None:
    """Forget one run: its task instances, tries, XComs and dead letters. Never commits.

    A worker still running one of its tries finds its task instance gone and changes
    nothing (its finish is a compare-and-set on a row that no longer exists).
    """
    # Here, not at the top: triggering and reading runs never touch the delivery tables,
    # and mapping them would cost every 'loom dags trigger' (see docs/decisions.md).
    from engine.models import DeadLetter

    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    session.execute(sa.delete(XCom).where(XCom.dag_id == dag_id, XCom.run_id == run_id))
    session.execute(
        sa.delete(DeadLetter).where(DeadLetter.dag_id == dag_id, DeadLetter.run_id == run_id)
    )
    session.delete(run)
    session.flush()


# -- reading runs ----------------------------------------------------------------------------


def get_run(*, session: Session, dag_id: str, run_id: str) -> DagRun:
    """The run ``run_id`` of ``dag_id``; :class:`NotFoundError` naming the DAG when it does
    not exist, else naming the run."""
    require_dag(session=session, dag_id=dag_id)
    run = session.scalar(sa.select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        raise NotFoundError(f"DAG {dag_id!r} has no run {run_id!r}")
    return run


def previous_successful_run(
    *, session: Session, dag_id: str, logical_date: datetime
) -> DagRun | None:
    """The newest successful run of ``dag_id`` whose logical date is before
    ``logical_date``: what Airflow's ``prev_*_success`` context keys describe."""
    stmt = (
        sa.select(DagRun)
        .where(
            DagRun.dag_id == dag_id,
            DagRun.state == DagRunState.SUCCESS,
            DagRun.logical_date < logical_date,
        )
        .order_by(DagRun.logical_date.desc(), DagRun.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


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


RUN_ORDER = order_columns(
    DagRun.id,
    DagRun.dag_id,
    DagRun.run_id,
    DagRun.logical_date,
    DagRun.start_date,
    DagRun.end_date,
    DagRun.state,
)
"""Columns run lists may be ordered by."""

NEWEST_FIRST = (DagRun.logical_date.desc(), DagRun.id.desc())
"""How the CLI and the UI list a DAG's runs."""


def run_query(filters: RunFilter) -> sa.Select[Any]:
    """The dag runs matching ``filters`` (unordered: the caller pages them)."""
    stmt = within_dags(
        sa.select(DagRun).options(undefer(DagRun.dag_version_number)),
        DagRun.dag_id,
        filters.dag_ids,
    )
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


def list_runs(
    *,
    session: Session,
    dag_id: str,
    state: str | None = None,
    limit: int = 100,
    offset: int = 0,
    logical_dates: tuple[datetime, datetime] | None = None,
) -> Page[DagRun]:
    """A page of a DAG's runs, the newest first (``logical_dates``: only those whose logical
    date is within these bounds, both included); NotFoundError when the DAG does not exist."""
    require_dag(session=session, dag_id=dag_id)
    low, high = logical_dates or (None, None)
    filters = RunFilter(
        dag_ids={dag_id},
        states=[state] if state else None,
        logical_date_gte=low,
        logical_date_lte=high,
    )
    stmt = run_query(filters)
    return paginate(session=session, stmt=stmt, order=NEWEST_FIRST, limit=limit, offset=offset)


def run_row(run: DagRun) -> dict[str, Any]:
    """A dag run as a flat, JSON-friendly row."""
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "state": run.state.value,
        "run_type": run.run_type.value,
        "logical_date": run.logical_date,
        "run_after": run.run_after,
        "start_date": run.start_date,
        "end_date": run.end_date,
        "duration": seconds_between(run.start_date, run.end_date),
        "dag_version": run.dag_version_number,
        "conf": run.conf,
    }
