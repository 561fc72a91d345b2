"""A DAG's runs across time, for the calendar and the task duration and landing charts.

- :func:`runs_per_day`: the runs of each UTC day (by logical date), counted by state,
  grouped by the database (a DAG that runs every minute has half a million runs a year).
- :func:`recent_task_times`: the last runs and the times of their task instances.

Functions take ``session`` keyword-only and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.models import DagRun, TaskInstance
from engine.services.dags import require_dag
from engine.services.runs import NEWEST_FIRST
from engine.state import DagRunState


class utc_day(FunctionElement[str]):  # noqa: N801 - SQL functions are lower case
    """A UTC timestamp column's day as ``YYYY-MM-DD`` text, on SQLite and PostgreSQL."""

    type = sa.String()
    inherit_cache = True


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    """SQLite keeps UTC timestamps as ISO text: the day is its first ten characters."""
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


def runs_per_day(
    *, session: Session, dag_id: str, start: datetime, end: datetime
) -> dict[date, dict[DagRunState, int]]:
    """The runs of ``dag_id`` whose logical date is in ``[start, end)``, counted by state per
    UTC day (days without runs are left out); NotFoundError when the DAG does not exist."""
    require_dag(session=session, dag_id=dag_id)
    day = utc_day(DagRun.logical_date)
    stmt = (
        sa.select(day, DagRun.state, sa.func.count())
        .where(DagRun.dag_id == dag_id, DagRun.logical_date >= start, DagRun.logical_date < end)
        .group_by(day, DagRun.state)
    )
    days: dict[date, dict[DagRunState, int]] = {}
    for text, state, count in session.execute(stmt):
        days.setdefault(date.fromisoformat(text), {})[DagRunState(state)] = int(count)
    return days


@dataclass(frozen=True)
class RunTimes:
    """One run and its task instances (every map index, the latest try of each)."""

    run: DagRun
    task_instances: list[TaskInstance]


def recent_task_times(*, session: Session, dag_id: str, runs: int) -> list[RunTimes]:
    """The latest ``runs`` runs of ``dag_id`` (the oldest first) with their task instances,
    in two queries; NotFoundError when the DAG does not exist."""
    require_dag(session=session, dag_id=dag_id)
    latest = list(
        session.scalars(
            sa.select(DagRun).where(DagRun.dag_id == dag_id).order_by(*NEWEST_FIRST).limit(runs)
        )
    )
    by_run: dict[str, list[TaskInstance]] = {run.run_id: [] for run in latest}
    if latest:
        stmt = (
            sa.select(TaskInstance)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id.in_(sorted(by_run)))
            .order_by(TaskInstance.task_id, TaskInstance.map_index)
        )
        for ti in session.scalars(stmt):
            by_run[ti.run_id].append(ti)
    return [RunTimes(run, by_run[run.run_id]) for run in reversed(latest)]
