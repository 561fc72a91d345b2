"""A DAG's schedule as people read it: in words, and the next runs it will create.

Planned from the serialized timetable and the DAG's latest scheduled run, as the scheduler
plans (no DAG file is imported); the UI's DAG page and ``loom dags show`` call it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.schedules import DataInterval, restriction, upcoming_runs
from engine.authoring.serialization import SerializedDAG
from engine.errors import InvalidInputError, NotFoundError
from engine.models import DagRun, DagRunType
from engine.services.dags import load_serialized_dag, load_serialized_dags
from engine.timeutil import ensure_aware, plain_utc

NEXT_RUNS = 5
"""How many upcoming runs a DAG's page lists."""


@dataclass(frozen=True)
class PlannedRun:
    """One run the schedule will create: when, and for which data interval."""

    run_after: datetime
    logical_date: datetime
    data_interval_end: datetime
    data_interval_start: datetime | None = None


@dataclass(frozen=True)
class ScheduleOverview:
    summary: str
    """Short: ``@daily``, ``0 6 * * 1-5``, ``1 day, 0:00:00``."""
    description: str
    """In words: ``At 06:00, Monday through Friday (Europe/Berlin)``."""
    next_runs: list[PlannedRun] = field(default_factory=list)


def last_scheduled_interval(*, session: Session, dag_id: str) -> DataInterval | None:
    """The data interval of the DAG's latest scheduled run (what timetables plan from)."""
    row = session.execute(
        sa.select(DagRun.data_interval_start, DagRun.data_interval_end)
        .where(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.SCHEDULED)
        .order_by(DagRun.logical_date.desc())
        .limit(1)
    ).one_or_none()
    if row is None or row.data_interval_start is None or row.data_interval_end is None:
        return None
    return DataInterval(row.data_interval_start, row.data_interval_end)


def schedule_overview(
    *, session: Session, dag_id: str, now: datetime, count: int = NEXT_RUNS
) -> ScheduleOverview:
    """The schedule of ``dag_id`` in words, and its next ``count`` runs as of ``now``."""
    try:
        dag = load_serialized_dag(session=session, dag_id=dag_id)
    except NotFoundError:
        return ScheduleOverview("None", "no parsed DAG")
    except InvalidInputError as exc:  # a plugin's timetable this process does not have
        return ScheduleOverview("?", f"unavailable: {exc}")
    timetable = dag.schedule
    overview = ScheduleOverview(timetable.summary, timetable.description or timetable.summary)
    last = last_scheduled_interval(session=session, dag_id=dag_id)
    overview.next_runs.extend(_plan(dag, last=last, now=now, count=count))
    return overview


def next_planned_runs(
    *, session: Session, dag_ids: Collection[str], now: datetime
) -> dict[str, PlannedRun]:
    """The next run each of ``dag_ids`` will create as of ``now``, with its data interval
    (DAGs without one are left out): three queries for a page of DAGs, not three per DAG."""
    dags = load_serialized_dags(session=session, dag_ids=dag_ids)
    latest = _last_scheduled_intervals(session, list(dags))
    planned: dict[str, PlannedRun] = {}
    for dag_id, dag in dags.items():
        try:
            found = _plan(dag, last=latest.get(dag_id), now=now, count=1)
        except InvalidInputError:  # a plugin's timetable this process does not have
            continue
        if found:
            planned[dag_id] = found[0]
    return planned


def _plan(
    dag: SerializedDAG, *, last: DataInterval | None, now: datetime, count: int
) -> list[PlannedRun]:
    """The next ``count`` runs of ``dag`` after the scheduled run of interval ``last``."""
    timetable = dag.schedule
    if dag.start_date is None or not timetable.can_be_scheduled:
        return []
    bounds = restriction(
        ensure_aware(dag.start_date),
        ensure_aware(dag.end_date) if dag.end_date is not None else None,
        dag.catchup,
    )
    planned = upcoming_runs(timetable, last=last, restriction=bounds, now=now, count=count)
    return [
        PlannedRun(
            plain_utc(p.run_after),
            plain_utc(p.logical_date),
            plain_utc(p.data_interval.end),
            plain_utc(p.data_interval.start),
        )
        for p in planned
    ]


def _last_scheduled_intervals(session: Session, dag_ids: list[str]) -> dict[str, DataInterval]:
    """The data interval of each DAG's latest scheduled run, in one query."""
    if not dag_ids:
        return {}
    rank = (
        sa.func.row_number()
        .over(partition_by=DagRun.dag_id, order_by=DagRun.logical_date.desc())
        .label("rank")
    )
    ranked = (
        sa.select(DagRun.dag_id, DagRun.data_interval_start, DagRun.data_interval_end, rank)
        .where(DagRun.dag_id.in_(sorted(dag_ids)), DagRun.run_type == DagRunType.SCHEDULED)
        .subquery()
    )
    rows = session.execute(sa.select(ranked).where(ranked.c.rank == 1))
    return {
        row.dag_id: DataInterval(row.data_interval_start, row.data_interval_end)
        for row in rows
        if row.data_interval_start is not None and row.data_interval_end is not None
    }
