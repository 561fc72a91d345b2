"""Backfills: the runs of a DAG's schedule between two dates, created at once and run by the
scheduler at most ``max_active_runs`` at a time (besides the DAG's own ``max_active_runs``).

A backfill is a row (:class:`~engine.models.Backfill`); its runs are ordinary dag runs of
type ``backfill`` that carry its id. A logical date that already has a run is left alone,
or, by ``reprocess_behavior``, cleared to run again when it failed (``failed``) or when it
finished at all (``completed``); a run still queued or running is always left alone. A DAG
has one backfill in progress at a time. Pausing stops new runs from starting; cancelling
pauses, fails the runs not started yet and completes the backfill.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.schedules import DataInterval, next_run, restriction
from engine.authoring.serialization import SerializedDAG
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Backfill, Dag, DagRun, DagRunType, ReprocessBehavior
from engine.models.transitions import set_run_state
from engine.services.dagversions import latest_dag_version
from engine.services.runs import create_dag_run, make_run_id
from engine.services.taskchanges import clear_task_instances
from engine.state import RUN_FINISHED, DagRunState
from engine.timeutil import ensure_aware, plain_utc

logger = logging.getLogger(__name__)

MAX_BACKFILL_RUNS = 1000
"""More intervals than this in one request is almost certainly a typo in a date."""

RERUN_STATES = {
    ReprocessBehavior.NONE: frozenset[DagRunState](),
    ReprocessBehavior.FAILED: frozenset({DagRunState.FAILED}),
    ReprocessBehavior.COMPLETED: RUN_FINISHED,
}
"""The states of an existing run that each behaviour runs again."""


@dataclass(frozen=True)
class BackfillRequest:
    """What a backfill is asked to do (Airflow's ``BackfillPostBody``)."""

    dag_id: str
    from_date: datetime
    to_date: datetime
    run_backwards: bool = False
    dag_run_conf: dict[str, Any] | None = None
    reprocess_behavior: ReprocessBehavior = ReprocessBehavior.NONE
    max_active_runs: int = 10


@dataclass
class BackfillReport:
    """The backfill, the runs it created or re-ran, and the logical dates it left alone."""

    backfill: Backfill | None = None
    created: list[str] = field(default_factory=list)
    rerun: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Plan:
    interval: DataInterval
    existing: DagRun | None
    """The run the logical date has; None: a new run is created."""


def backfill_intervals(dag: SerializedDAG, *, start: datetime, end: datetime) -> list[DataInterval]:
    """The schedule's intervals whose logical date lies in ``[start, end]``."""
    if not dag.schedule.can_be_scheduled:
        raise InvalidInputError(
            f"DAG {dag.dag_id!r} has no schedule to backfill; trigger it instead"
        )
    start, end = ensure_aware(start), ensure_aware(end)
    if end < start:
        raise InvalidInputError("--end is before --start")
    intervals: list[DataInterval] = []
    last: DataInterval | None = None
    bounds = restriction(start, end, True)
    while True:
        info = next_run(dag.schedule, last=last, restriction=bounds, now=end)
        interval = info.data_interval if info is not None else None
        if interval is None or interval.start > end or (last and interval.start <= last.start):
            return intervals
        interval = DataInterval(plain_utc(interval.start), plain_utc(interval.end))
        if len(intervals) == MAX_BACKFILL_RUNS:
            raise InvalidInputError(
                f"more than {MAX_BACKFILL_RUNS} runs between {start} and {end}; backfill in parts"
            )
        intervals.append(interval)
        last = interval


def dry_run(*, session: Session, request: BackfillRequest) -> list[datetime]:
    """The logical dates a backfill of ``request`` would run now, in the order it would."""
    dag, _ = _active_dag(session, request)
    return [plan.interval.start for plan in _plan(session, dag, request)]


def create_backfill(
    *, session: Session, request: BackfillRequest, now: datetime, triggered_by: str | None = None
) -> BackfillReport:
    """Record a backfill of ``request`` and create (or clear) its runs, ``queued``."""
    dag, version_id = _active_dag(session, request)
    _check_none_in_progress(session, request.dag_id)
    backfill = Backfill(
        dag_id=request.dag_id,
        from_date=plain_utc(ensure_aware(request.from_date)),
        to_date=plain_utc(ensure_aware(request.to_date)),
        dag_run_conf=dict(request.dag_run_conf or {}),
        reprocess_behavior=request.reprocess_behavior,
        max_active_runs=request.max_active_runs,
        run_backwards=request.run_backwards,
        triggered_by=triggered_by,
    )
    session.add(backfill)
    session.flush()
    report = BackfillReport(backfill=backfill)
    plans = _plan(session, dag, request)
    for plan in plans:
        run = plan.existing or create_dag_run(
            session=session,
            dag=dag,
            dag_version_id=version_id,
            run_id=make_run_id(DagRunType.BACKFILL, plan.interval.start),
            run_type=DagRunType.BACKFILL,
            logical_date=plan.interval.start,
            data_interval=plan.interval,
            conf=request.dag_run_conf,
            run_after=now,
            now=now,
            triggered_by=triggered_by or "backfill",
        )
        if plan.existing is not None:
            clear_task_instances(session=session, dag_id=run.dag_id, run_id=run.run_id, now=now)
            report.rerun.append(run.run_id)
        else:
            report.created.append(run.run_id)
        run.backfill_id = backfill.id
    report.existing = _left_alone(session, dag, request, {p.interval.start for p in plans})
    if not plans:
        backfill.completed_at = now  # nothing to run: done at once
    logger.info(
        "backfill %s of %s: %d run(s) created, %d re-run, %d left alone",
        backfill.id, request.dag_id, len(report.created), len(report.rerun), len(report.existing),
    )  # fmt: skip
    return report


def _active_dag(session: Session, request: BackfillRequest) -> tuple[SerializedDAG, int | None]:
    row = session.get(Dag, request.dag_id)
    if row is None or not row.is_active:
        raise NotFoundError(f"no active DAG {request.dag_id!r}")
    if row.is_paused:
        raise ConflictError(f"DAG {request.dag_id!r} is paused; unpause it to backfill")
    if request.max_active_runs < 1:
        raise InvalidInputError("max_active_runs: must be at least 1")
    return latest_dag_version(session=session, dag_id=request.dag_id)


def _check_none_in_progress(session: Session, dag_id: str) -> None:
    """A backfill not completed that still has runs to finish blocks another one (one
    whose runs all finished counts as done even before the scheduler marks it)."""
    running = session.scalar(
        sa.select(Backfill.id).where(
            Backfill.dag_id == dag_id, Backfill.completed_at.is_(None), _unfinished().exists()
        )
    )
    if running is not None:
        raise ConflictError(f"DAG {dag_id!r} has a backfill in progress ({running})")


def _unfinished() -> sa.Select[Any]:
    """The unfinished runs of the backfill of the enclosing statement."""
    return sa.select(DagRun.id).where(
        DagRun.backfill_id == Backfill.id, DagRun.state.not_in(list(RUN_FINISHED))
    )


def _runs_by_date(session: Session, dag_id: str) -> dict[datetime, DagRun]:
    """The latest run of each logical date of the DAG."""
    runs = session.scalars(
        sa.select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id)
    ).all()
    return {run.logical_date: run for run in runs}


def _plan(session: Session, dag: SerializedDAG, request: BackfillRequest) -> list[_Plan]:
    rerun = RERUN_STATES[request.reprocess_behavior]
    taken = _runs_by_date(session, request.dag_id)
    plans = [
        _Plan(interval, taken.get(interval.start))
        for interval in backfill_intervals(dag, start=request.from_date, end=request.to_date)
        if interval.start not in taken or taken[interval.start].state in rerun
    ]
    return plans[::-1] if request.run_backwards else plans


def _left_alone(
    session: Session, dag: SerializedDAG, request: BackfillRequest, planned: set[datetime]
) -> list[str]:
    taken = _runs_by_date(session, request.dag_id)
    intervals = backfill_intervals(dag, start=request.from_date, end=request.to_date)
    return [taken[i.start].run_id for i in intervals if i.start in taken and i.start not in planned]


def run_states(*, session: Session, dag_id: str, run_ids: Collection[str]) -> Counter[DagRunState]:
    """The runs ``run_ids`` of ``dag_id`` (those a backfill created), counted by state."""
    where = (DagRun.dag_id == dag_id, DagRun.run_id.in_(sorted(run_ids)))
    return Counter(session.scalars(sa.select(DagRun.state).where(*where)))


def backfill_query(*, dag_id: str) -> sa.Select[Any]:
    """The backfills of ``dag_id``, unordered (the caller pages them)."""
    return sa.select(Backfill).where(Backfill.dag_id == dag_id)


def get_backfill(*, session: Session, backfill_id: int) -> Backfill:
    found = session.get(Backfill, backfill_id)
    if found is None:
        raise NotFoundError(f"no backfill {backfill_id}")
    return found


def _in_progress(backfill: Backfill) -> Backfill:
    if backfill.completed_at is not None:
        raise ConflictError(f"backfill {backfill.id} is already completed")
    return backfill


def pause_backfill(*, session: Session, backfill_id: int, paused: bool) -> Backfill:
    """Stop (or resume) starting the backfill's queued runs; running ones go on."""
    backfill = _in_progress(get_backfill(session=session, backfill_id=backfill_id))
    backfill.is_paused = paused
    return backfill


def cancel_backfill(*, session: Session, backfill_id: int, now: datetime) -> Backfill:
    """Pause the backfill, fail its runs not started yet and complete it."""
    backfill = _in_progress(get_backfill(session=session, backfill_id=backfill_id))
    backfill.is_paused = True
    queued = session.scalars(
        sa.select(DagRun.id).where(
            DagRun.backfill_id == backfill.id, DagRun.state == DagRunState.QUEUED
        )
    ).all()
    for run_pk in queued:
        set_run_state(
            session=session,
            run_id_pk=run_pk,
            expected=DagRunState.QUEUED,
            new=DagRunState.FAILED,
            end_date=now,
        )
    backfill.completed_at = now
    return backfill


def complete_finished_backfills(*, session: Session, now: datetime) -> int:
    """Mark the backfills whose runs have all finished completed; returns how many."""
    result = session.execute(
        sa.update(Backfill)
        .where(Backfill.completed_at.is_(None), ~_unfinished().exists())
        .values(completed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
