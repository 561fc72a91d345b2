"""Dag runs: create the runs schedules make due, and start queued runs within limits.

Each DAG is handled under a lock on its ``dag`` row (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite has one writer anyway), so two schedulers never work on the same DAG
at once; the unique key on ``(dag_id, run_id)`` backs this up.

``Dag.next_dagrun_create_after`` says when to look at a DAG again: NULL means "not
computed yet" (a DAG the parser just added), :data:`NEVER` means no scheduled run will
ever be due (manual-only, ``@once`` done, past ``end_date``). The next interval itself is
always computed from the last scheduled run, so the column is only a hint; for a DAG's
first run it also fixes the moment the run was planned as of (see :func:`_planning_time`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.schedules import DagRunInfo, DataInterval, next_run, restriction
from engine.authoring.serialization import SerializedDAG
from engine.errors import ConflictError, NotFoundError
from engine.models import Backfill, Dag, DagRun, DagRunType
from engine.models.transitions import set_run_state
from engine.services.dagversions import latest_dag_version
from engine.services.runs import create_dag_run, make_run_id
from engine.services.schedule import last_scheduled_interval
from engine.state import RUN_UNFINISHED, DagRunState
from engine.timeutil import ensure_aware, plain_utc

logger = logging.getLogger(__name__)

NEVER = datetime(9999, 12, 31, tzinfo=UTC)
"""``next_dagrun_create_after`` of a DAG that has no scheduled run to create, ever."""


def create_due_runs(*, session: Session, now: datetime) -> list[DagRun]:
    """Create every scheduled run that is due, DAG by DAG; returns the new runs."""
    due = sa.or_(Dag.next_dagrun_create_after.is_(None), Dag.next_dagrun_create_after <= now)
    stmt = (
        sa.select(Dag)
        .where(Dag.is_active, sa.not_(Dag.is_paused), due)
        .order_by(Dag.dag_id)
        .with_for_update(skip_locked=True)
    )
    created: list[DagRun] = []
    for row in session.scalars(stmt).all():
        created += _create_for_dag(row, session=session, now=now)
    return created


def _create_for_dag(row: Dag, *, session: Session, now: datetime) -> list[DagRun]:
    try:
        dag, version_id = latest_dag_version(session=session, dag_id=row.dag_id)
    except NotFoundError:
        row.next_dagrun_create_after = NEVER
        return []
    if dag.start_date is None or not dag.schedule.can_be_scheduled:
        row.next_dagrun_create_after = NEVER
        return []
    active = _count_runs(session=session, dag_id=dag.dag_id, states=RUN_UNFINISHED)
    last = last_scheduled_interval(session=session, dag_id=dag.dag_id)
    created: list[DagRun] = []
    while True:
        info = _next_info(dag, last, _planning_time(row, last, now))
        row.next_dagrun_create_after = NEVER if info is None else plain_utc(info.run_after)
        if info is None or info.run_after > now or active >= dag.max_active_runs:
            return created
        run = _create_scheduled(dag, version_id, info, session=session, now=now)
        if run is None:
            return created
        created.append(run)
        active, last = active + 1, info.data_interval


def _planning_time(row: Dag, last: DataInterval | None, now: datetime) -> datetime:
    """The time to plan the DAG's next run as of. The first run is planned as of the tick
    that first planned it (the hint that tick stored), not afresh each tick: a first run
    that waits for the next cron tick (``run_immediately=False``) would otherwise move
    one tick on whenever a scheduler tick comes after it."""
    planned = row.next_dagrun_create_after
    if last is not None or planned is None or planned == NEVER:
        return now
    return min(now, ensure_aware(planned))


def _next_info(dag: SerializedDAG, last: DataInterval | None, now: datetime) -> DagRunInfo | None:
    """The DAG's next scheduled run, as its timetable plans it (no DAG-file code runs: a
    plugin's timetable class is deployment code)."""
    bounds = restriction(
        ensure_aware(dag.start_date) if dag.start_date is not None else None,
        ensure_aware(dag.end_date) if dag.end_date is not None else None,
        dag.catchup,
    )
    return next_run(dag.schedule, last=last, restriction=bounds, now=now)


def _create_scheduled(
    dag: SerializedDAG,
    version_id: int | None,
    info: DagRunInfo,
    *,
    session: Session,
    now: datetime,
) -> DagRun | None:
    logical_date = plain_utc(info.logical_date)
    try:
        return create_dag_run(
            session=session,
            dag=dag,
            dag_version_id=version_id,
            run_id=make_run_id(DagRunType.SCHEDULED, logical_date),
            run_type=DagRunType.SCHEDULED,
            logical_date=logical_date,
            data_interval=DataInterval(logical_date, plain_utc(info.data_interval.end)),
            conf=None,
            run_after=plain_utc(info.run_after),
            now=now,
        )
    except ConflictError:
        logger.warning("DAG %s: scheduled run for %s exists already", dag.dag_id, logical_date)
        return None


def _count_runs(*, session: Session, dag_id: str, states: frozenset[DagRunState]) -> int:
    """Runs of the DAG in ``states`` outside any backfill (a backfill has its own limit)."""
    stmt = sa.select(sa.func.count()).where(
        DagRun.dag_id == dag_id, DagRun.state.in_(states), DagRun.backfill_id.is_(None)
    )
    return session.scalar(stmt) or 0


def start_queued_runs(*, session: Session, now: datetime) -> list[DagRun]:
    """Move queued runs whose ``run_after`` has come to ``running``, oldest first.

    A DAG never has more than ``max_active_runs`` running outside backfills, nor a
    backfill more than its own ``max_active_runs`` (a paused backfill starts none, and a
    backfill starts its runs in logical-date order, backwards when asked); runs of a
    paused or inactive DAG wait.
    """
    dag_ids = session.scalars(
        sa.select(DagRun.dag_id)
        .where(DagRun.state == DagRunState.QUEUED, DagRun.run_after <= now)
        .distinct()
    ).all()
    started: list[DagRun] = []
    for dag_id in sorted(dag_ids):
        row = session.scalars(
            sa.select(Dag).where(Dag.dag_id == dag_id).with_for_update(skip_locked=True)
        ).one_or_none()
        if row is not None and row.is_active and not row.is_paused:
            started += _start_for_dag(row, session=session, now=now)
            for backfill in _backfills_to_start(session, dag_id):
                started += _start_for_backfill(backfill, session=session, now=now)
    return started


def _start_for_dag(row: Dag, *, session: Session, now: datetime) -> list[DagRun]:
    running = _count_runs(
        session=session, dag_id=row.dag_id, states=frozenset({DagRunState.RUNNING})
    )
    stmt = _queued(now).where(DagRun.dag_id == row.dag_id, DagRun.backfill_id.is_(None))
    order = (DagRun.run_after, DagRun.logical_date, DagRun.id)
    return _start(session, stmt.order_by(*order), room=row.max_active_runs - running, now=now)


def _backfills_to_start(session: Session, dag_id: str) -> list[Backfill]:
    stmt = sa.select(Backfill).where(
        Backfill.dag_id == dag_id, Backfill.completed_at.is_(None), ~Backfill.is_paused
    )
    return list(session.scalars(stmt.order_by(Backfill.id)))


def _start_for_backfill(backfill: Backfill, *, session: Session, now: datetime) -> list[DagRun]:
    running = session.scalar(
        sa.select(sa.func.count()).where(
            DagRun.backfill_id == backfill.id, DagRun.state == DagRunState.RUNNING
        )
    )
    by_date = DagRun.logical_date.desc() if backfill.run_backwards else DagRun.logical_date
    stmt = _queued(now).where(DagRun.backfill_id == backfill.id).order_by(by_date, DagRun.id)
    return _start(session, stmt, room=backfill.max_active_runs - (running or 0), now=now)


def _queued(now: datetime) -> sa.Select[Any]:
    return sa.select(DagRun).where(DagRun.state == DagRunState.QUEUED, DagRun.run_after <= now)


def _start(session: Session, stmt: sa.Select[Any], *, room: int, now: datetime) -> list[DagRun]:
    if room <= 0:
        return []
    started = []
    for run in session.scalars(stmt.limit(room)).all():
        if set_run_state(
            session=session,
            run_id_pk=run.id,
            expected=DagRunState.QUEUED,
            new=DagRunState.RUNNING,
            start_date=now,
        ):
            started.append(run)
    return started
