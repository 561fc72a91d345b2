"""A DAG's grid: its latest runs as columns, its tasks as rows, each cell a task's state.

Built in three queries whatever the size (the runs, their task instances' states, the
serialized DAG's hash when its graph is cached), so that a DAG of 1,000 tasks with 25
runs stays one fast page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import DagRun, TaskInstance
from engine.services.dags import load_serialized_dag
from engine.state import DagRunState, TaskInstanceState


@dataclass(frozen=True)
class GridRun:
    """One column: a run, as its header shows it."""

    run_id: str
    state: DagRunState
    logical_date: datetime
    start_date: datetime | None
    end_date: datetime | None


@dataclass(frozen=True)
class GridRow:
    """One row: a task and its state in each run, in the order of :attr:`Grid.runs`.

    ``None`` where the run has no instance of the task (it was added to the DAG later).
    """

    task_id: str
    states: tuple[TaskInstanceState | None, ...]


@dataclass(frozen=True)
class Grid:
    runs: list[GridRun]
    """Oldest first, so that time reads left to right."""
    rows: list[GridRow]
    """The DAG's tasks upstream before downstream, then tasks only old runs still have."""


def dag_grid(*, session: Session, dag_id: str, runs: int) -> Grid:
    """The latest ``runs`` runs of ``dag_id`` and the state of every task in each."""
    columns = _latest_runs(session, dag_id, runs)
    states = _states(session, [pk for pk, _ in columns])
    task_ids = list(load_serialized_dag(session=session, dag_id=dag_id).order)
    known = set(task_ids)
    task_ids += sorted({task_id for task_id, _ in states} - known)
    rows = [
        GridRow(task_id, tuple(states.get((task_id, pk)) for pk, _ in columns))
        for task_id in task_ids
    ]
    return Grid([run for _, run in columns], rows)


def _latest_runs(session: Session, dag_id: str, limit: int) -> list[tuple[int, GridRun]]:
    stmt = (
        sa.select(
            DagRun.id,
            DagRun.run_id,
            DagRun.state,
            DagRun.logical_date,
            DagRun.start_date,
            DagRun.end_date,
        )
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.logical_date.desc(), DagRun.id.desc())
        .limit(limit)
    )
    newest_first = [(row.id, GridRun(*row[1:])) for row in session.execute(stmt)]
    return newest_first[::-1]


def _states(session: Session, run_pks: list[int]) -> dict[tuple[str, int], TaskInstanceState]:
    """The state of each (task_id, run pk) of these runs.

    Tens of thousands of rows: read through Core, states as plain strings looked up in a
    dict, which is several times faster than the ORM's per-row enum conversion.
    """
    if not run_pks:
        return {}
    table = TaskInstance.__table__
    stmt = sa.select(
        table.c.task_id, table.c.dag_run_id, sa.type_coerce(table.c.state, sa.String)
    ).where(table.c.dag_run_id.in_(run_pks))
    rows = session.connection().execute(stmt)
    return {(task_id, pk): _STATES[state] for task_id, pk, state in rows}


_STATES = {state.value: state for state in TaskInstanceState}
