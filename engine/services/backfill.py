"""Backfills: the runs of a DAG's schedule between two dates, created at once.

The runs are ordinary dag runs (type ``backfill``) that the scheduler executes like any
other, within ``max_active_runs``; nothing runs inside the process that asked for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.schedules import DataInterval, next_run, restriction
from engine.authoring.serialization import SerializedDAG
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Dag, DagRun, DagRunType
from engine.services.dagversions import latest_dag_version
from engine.services.runs import create_dag_run, make_run_id
from engine.timeutil import ensure_aware, plain_utc

MAX_BACKFILL_RUNS = 1000
"""More intervals than this in one request is almost certainly a typo in a date."""


@dataclass
class BackfillReport:
    """Which runs a backfill created, and which intervals already had a run."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


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


def backfill_dag(
    *, session: Session, dag_id: str, start: datetime, end: datetime, now: datetime
) -> BackfillReport:
    """Create a ``backfill`` run for each interval that has no run yet."""
    row = session.get(Dag, dag_id)
    if row is None or not row.is_active:
        raise NotFoundError(f"no active DAG {dag_id!r}")
    if row.is_paused:
        raise ConflictError(f"DAG {dag_id!r} is paused; unpause it to backfill")
    dag, version_id = latest_dag_version(session=session, dag_id=dag_id)
    taken = set(session.scalars(sa.select(DagRun.logical_date).where(DagRun.dag_id == dag_id)))
    report = BackfillReport()
    for interval in backfill_intervals(dag, start=start, end=end):
        run_id = make_run_id(DagRunType.BACKFILL, interval.start)
        if interval.start in taken:
            report.existing.append(run_id)
            continue
        create_dag_run(
            session=session,
            dag=dag,
            dag_version_id=version_id,
            run_id=run_id,
            run_type=DagRunType.BACKFILL,
            logical_date=interval.start,
            data_interval=interval,
            conf=None,
            run_after=now,
            now=now,
            triggered_by="backfill",
        )
        report.created.append(run_id)
    return report
