"""A DAG's grid: its latest runs as columns, its tasks as rows, each cell a task's state.

A mapped task's cell stands for all its instances in the run: their aggregated state and
a :class:`~webui.ui.viewmodels.mapped.MappedSummary` (how many, in which states).

Built in three queries whatever the size (the runs, their task instances' states, the
serialized DAG's hash when its graph is cached), so that a DAG of 1,000 tasks with 25
runs stays one fast page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.models import DagRun, TaskInstance
from engine.services.dags import load_serialized_dag
from engine.state import DagRunState, TaskInstanceState
from webui.ui.viewmodels.groups import aggregate_state, members
from webui.ui.viewmodels.mapped import MappedSummary, mapped_task_ids, summarize


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
    A task group's row (``is_group``) comes before its tasks' rows, with the aggregated
    state of its tasks in each run.
    """

    task_id: str
    """The task's id, or the group's full id for a group's row."""
    states: tuple[TaskInstanceState | None, ...]
    ancestors: tuple[str, ...] = ()
    """The groups the row is in, outermost first."""
    is_group: bool = False
    label: str = ""
    """What the row's header says: the task id, or the group's own label."""
    mapped: tuple[MappedSummary | None, ...] = ()
    """A mapped task's summary in each run (None where the run has no instance of it);
    empty for a task that is not mapped and for a group."""
    tries: tuple[int, ...] = ()
    """A task's try number in each run (0 where it has none); empty for a group and a
    mapped task, whose instances each have their own."""

    @property
    def is_mapped(self) -> bool:
        return bool(self.mapped)

    @property
    def badge(self) -> str:
        """What the row's header adds for a mapped task: its count in the latest run that
        has it (``[3]``; ``[ ]`` while not expanded); empty for other rows."""
        latest = next((s for s in reversed(self.mapped) if s is not None), None)
        if latest is None:
            return "[ ]" if self.mapped else ""
        return latest.badge


@dataclass(frozen=True)
class Grid:
    runs: list[GridRun]
    """Oldest first, so that time reads left to right."""
    rows: list[GridRow]
    """The DAG's tasks upstream before downstream (each group's row before its tasks, the
    group placed where its first task would be), then tasks only old runs still have."""


def dag_grid(*, session: Session, dag_id: str, runs: int) -> Grid:
    """The latest ``runs`` runs of ``dag_id`` and the state of every task in each."""
    columns = _latest_runs(session, dag_id, runs)
    dag = load_serialized_dag(session=session, dag_id=dag_id)
    found = _states(session, [pk for pk, _ in columns], mapped_task_ids(dag))
    states, summaries, tries = found

    def row_of(task_id: str, ancestors: tuple[str, ...] = ()) -> GridRow:
        cells = tuple(states.get((task_id, pk)) for pk, _ in columns)
        if task_id in summaries:
            mapped = tuple(summaries[task_id].get(pk) for pk, _ in columns)
            return GridRow(task_id, cells, ancestors, label=task_id, mapped=mapped)
        counted = tuple(tries.get((task_id, pk), 0) for pk, _ in columns)
        return GridRow(task_id, cells, ancestors, label=task_id, tries=counted)

    rows = _tree_rows(dag, None, (), row_of, (None,) * len(columns), _first_positions(dag))
    rows += [row_of(t) for t in sorted({task_id for task_id, _ in states} - dag.tasks.keys())]
    return Grid([run for _, run in columns], rows)


def _tree_rows(
    dag: SerializedDAG,
    group_id: str | None,
    ancestors: tuple[str, ...],
    row_of: Callable[[str, tuple[str, ...]], GridRow],
    blank: tuple[None, ...],
    first: Mapping[str, int],
) -> list[GridRow]:
    """The rows of a group's children (the root's when ``group_id`` is None), each placed
    where its first task is in the DAG's order (``first``)."""
    if group_id is None:
        children = [t for t in dag.order if dag.tasks[t].task_group_id is None]
        children += [g for g, group in dag.task_groups.items() if group.parent_group_id is None]
    else:
        children = list(dag.task_groups[group_id].children)
    rows: list[GridRow] = []
    for node in sorted(children, key=lambda n: first.get(n, len(dag.order))):
        if node in dag.tasks:
            rows.append(row_of(node, ancestors))
            continue
        inner = _tree_rows(dag, node, (*ancestors, node), row_of, blank, first)
        direct = [row for row in inner if row.ancestors == (*ancestors, node)]
        columns = zip(*(r.states for r in direct), strict=True)
        cells = tuple(aggregate_state(column) for column in columns) or blank
        label = dag.task_groups[node].label
        rows.append(GridRow(node, cells, ancestors, is_group=True, label=label))
        rows += inner
    return rows


def _first_positions(dag: SerializedDAG) -> dict[str, int]:
    """Each task's place in the DAG's order, and each group's as its first task's."""
    first = {task_id: index for index, task_id in enumerate(dag.order)}
    for group_id, task_ids in members(dag).items():
        if task_ids:
            first[group_id] = first[task_ids[0]]
    return first


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


Cell = tuple[str, int]
"""A task id and a run's primary key."""


_Found = tuple[dict[Cell, TaskInstanceState], dict[str, dict[int, MappedSummary]], dict[Cell, int]]


def _states(session: Session, run_pks: list[int], mapped: set[str]) -> _Found:
    """The state of each (task_id, run pk) of these runs, each mapped task's summary by
    run pk (a task is mapped when the DAG maps it or an instance has a map index), and
    the try number of each instance of a task that is not mapped.

    Tens of thousands of rows: read through Core, states as plain strings looked up in a
    dict, which is several times faster than the ORM's per-row enum conversion.
    """
    if not run_pks:
        return {}, {}, {}
    table = TaskInstance.__table__
    stmt = sa.select(
        table.c.task_id,
        table.c.dag_run_id,
        table.c.map_index,
        sa.type_coerce(table.c.state, sa.String),
        table.c.try_number,
    ).where(table.c.dag_run_id.in_(run_pks))
    states: dict[Cell, TaskInstanceState] = {}
    tries: dict[Cell, int] = {}
    instances: dict[Cell, list[tuple[int, TaskInstanceState]]] = {}
    for task_id, pk, map_index, value, try_number in session.connection().execute(stmt):
        state = _STATES[value]
        if map_index < 0 and task_id not in mapped:
            states[(task_id, pk)] = state
            tries[(task_id, pk)] = try_number
        else:
            instances.setdefault((task_id, pk), []).append((map_index, state))
    summaries: dict[str, dict[int, MappedSummary]] = {}
    for (task_id, pk), pairs in instances.items():
        summary = summarize(pairs)
        summaries.setdefault(task_id, {})[pk] = summary
        if summary.state is not None:
            states[(task_id, pk)] = summary.state
    return states, summaries, tries


_STATES = {state.value: state for state in TaskInstanceState}
