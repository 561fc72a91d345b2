"""The grid as the browser draws it: compact JSON, one number per cell.

A DAG of 1,000 tasks with 25 runs is 25,000 cells; as HTML (a link, a title and an
aria-label each) that was 4.6 MB. Here a cell is the index of its state in
:data:`STATE_CODES` (0: the run has no instance of the task), in one flat row-major
list, and ``static/grid.js`` builds the labels and links. Shape::

    {"dag_id": "x", "states": ["missing", "none", "scheduled", ...],
     "run_fields": [...], "runs": [[run_id, logical_date, state, start, end, href], ...],
     "task_fields": [...], "tasks": [[task_id, label, group, kind, depth], ...],
     "cells": [1, 4, ...],            # len(tasks) * len(runs), task by task
     "tries": {"17": 2, ...},         # flat cell index -> try number, where above 1
     "mapped": {"5": [null | [[code, count], ...], ...]},   # task index -> per run
     "live": true}

``kind`` is ``"task"``, ``"group"`` or ``"mapped"``; ``group`` is the id of the group the
row is in (null at the top), ``depth`` how many groups it is in. Runs are oldest first;
tasks are in the DAG's order, each group's row before its tasks' rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from engine.state import RUN_UNFINISHED, TaskInstanceState
from webui.ui.viewmodels.grid import Grid, GridRow, GridRun
from webui.ui.viewmodels.mapped import MappedSummary

STATE_CODES: tuple[str, ...] = ("missing", *(state.value for state in TaskInstanceState))
"""A cell's number is its state's place here; 0 means "not in this run"."""
RUN_FIELDS = ("run_id", "logical_date", "state", "start_date", "end_date", "href")
TASK_FIELDS = ("task_id", "label", "group", "kind", "depth")
_CODE = {state: code for code, state in enumerate(STATE_CODES)}


def grid_payload(dag_id: str, grid: Grid, run_href: Callable[[str], str]) -> dict[str, Any]:
    """The JSON document of ``grid`` (``run_href``: a run's page from its run id)."""
    width = len(grid.runs)
    cells: list[int] = []
    tries: dict[str, int] = {}
    mapped: dict[str, list[list[list[int]] | None]] = {}
    for index, row in enumerate(grid.rows):
        start = len(cells)
        cells += [_code(state) for state in row.states] or [0] * width
        for offset, number in enumerate(row.tries):
            if number > 1:
                tries[str(start + offset)] = number
        if row.is_mapped:
            mapped[str(index)] = [_counts(summary) for summary in row.mapped]
    return {
        "dag_id": dag_id,
        "states": list(STATE_CODES),
        "run_fields": list(RUN_FIELDS),
        "runs": [_run(run, run_href(run.run_id)) for run in grid.runs],
        "task_fields": list(TASK_FIELDS),
        "tasks": [_task(row) for row in grid.rows],
        "cells": cells,
        "tries": tries,
        "mapped": mapped,
        "live": any(run.state in RUN_UNFINISHED for run in grid.runs),
    }


def _code(state: TaskInstanceState | None) -> int:
    return 0 if state is None else _CODE[state.value]


def _counts(summary: MappedSummary | None) -> list[list[int]] | None:
    """A mapped task's ``[[state code, count], ...]`` in one run (empty: not expanded)."""
    if summary is None:
        return None
    return [[_CODE[state.value], count] for state, count in summary.by_state]


def _run(run: GridRun, href: str) -> list[str | None]:
    return [
        run.run_id,
        _iso(run.logical_date),
        run.state.value,
        _iso(run.start_date),
        _iso(run.end_date),
        href,
    ]


def _task(row: GridRow) -> list[str | int | None]:
    kind = "group" if row.is_group else "mapped" if row.is_mapped else "task"
    return [row.task_id, row.label, _parent(row.ancestors), kind, len(row.ancestors)]


def _parent(ancestors: Sequence[str]) -> str | None:
    return ancestors[-1] if ancestors else None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
