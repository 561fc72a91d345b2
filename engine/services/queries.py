"""Read-side queries shared by the CLI (and later the API): runs, task instances, logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import NotFoundError
from engine.models import Dag, DagRun, TaskInstance


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def require_dag(*, session: Session, dag_id: str) -> Dag:
    """The DAG row, or :class:`NotFoundError` naming the id."""
    dag = session.get(Dag, dag_id)
    if dag is None:
        raise NotFoundError(f"no DAG {dag_id!r}; `loom dags list` shows the known ones")
    return dag


def get_run(*, session: Session, dag_id: str, run_id: str) -> DagRun:
    """One dag run, or :class:`NotFoundError`."""
    require_dag(session=session, dag_id=dag_id)
    run = session.scalar(sa.select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        raise NotFoundError(f"DAG {dag_id!r} has no run {run_id!r}")
    return run


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
        "duration": _duration(run.start_date, run.end_date),
        "conf": run.conf,
    }


def list_runs(
    *, session: Session, dag_id: str, state: str | None = None, limit: int = 100
) -> list[DagRun]:
    """The newest runs of a DAG first."""
    require_dag(session=session, dag_id=dag_id)
    query = sa.select(DagRun).where(DagRun.dag_id == dag_id)
    if state is not None:
        query = query.where(DagRun.state == state)
    query = query.order_by(DagRun.logical_date.desc(), DagRun.id.desc()).limit(limit)
    return list(session.scalars(query))


def task_instance_row(ti: TaskInstance) -> dict[str, Any]:
    """A task instance as a flat, JSON-friendly row."""
    return {
        "task_id": ti.task_id,
        "state": ti.state.value,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "priority": ti.priority_class.value,
        "start_date": ti.start_date,
        "end_date": ti.end_date,
        "duration": ti.duration
        if ti.duration is not None
        else _duration(ti.start_date, ti.end_date),
        "hostname": ti.hostname,
        "next_retry_at": ti.next_retry_at,
    }


def task_instances(*, session: Session, run: DagRun) -> list[TaskInstance]:
    """The run's task instances, in start order (unstarted last, by task id)."""
    query = sa.select(TaskInstance).where(TaskInstance.dag_run_id == run.id)
    rows = list(session.scalars(query))
    return sorted(
        rows, key=lambda ti: (ti.start_date is None, ti.start_date or run.logical_date, ti.task_id)
    )


def get_task_instance(*, session: Session, dag_id: str, run_id: str, task_id: str) -> TaskInstance:
    """One task instance, or :class:`NotFoundError`."""
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    ti = session.scalar(
        sa.select(TaskInstance).where(
            TaskInstance.dag_run_id == run.id, TaskInstance.task_id == task_id
        )
    )
    if ti is None:
        raise NotFoundError(f"run {run_id!r} of DAG {dag_id!r} has no task {task_id!r}")
    return ti
