"""The task duration and landing time charts of a DAG: a line per task across its last runs.

- A task's **duration** in a run runs from its first instance's start to its last
  instance's end (for a task that is not mapped: its latest try's start and end).
- Its **landing time** is that end minus the run's data interval end (the logical date
  when the run has no data interval): how long after the data was complete the task
  landed. It may be negative for a run triggered before its interval ended.

A task that has not finished in a run (every instance ended) has no point for that run.
The charts are drawn as SVG by the template from the geometry computed here; the same
values fill the table beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from engine.models import DagRun, TaskInstance
from engine.services.runhistory import recent_task_times
from webui.ui.present import span

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 12, 28
"""The plot's margins: the left one holds the value axis's labels."""
TICKS = 4
PALETTE = 8
"""Series colours (``series-0`` ... ``series-7`` in the stylesheet), then again."""


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    run_id: str
    label: str


@dataclass(frozen=True)
class Series:
    """One task's line."""

    task_id: str
    colour: int
    points: list[Point]

    @property
    def path(self) -> str:
        """The polyline's ``points`` attribute."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Chart:
    """One chart: its lines, its value axis and, for the table, each task's values per run."""

    title: str
    series: list[Series]
    ticks: list[tuple[float, str]]
    """The value axis: each tick's y and its label."""
    runs: list[DagRun]
    values: dict[str, list[str]]
    """Each task's value in each run as text (``—``: none), the runs in chart order."""
    zero: float
    """The y of a value of zero (the landing chart may go below it)."""

    @property
    def width(self) -> int:
        return WIDTH

    @property
    def height(self) -> int:
        return HEIGHT

    @property
    def plot(self) -> tuple[int, int, int, int]:
        """The plot area: left, top, right, bottom."""
        return LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM


@dataclass(frozen=True)
class TaskCharts:
    runs: list[DagRun]
    duration: Chart
    landing: Chart


def task_charts(*, session: Session, dag_id: str, runs: int) -> TaskCharts:
    """Both charts over the last ``runs`` runs of ``dag_id``, the oldest on the left."""
    recent = recent_task_times(session=session, dag_id=dag_id, runs=runs)
    by_task = [_by_task(r.task_instances) for r in recent]
    task_ids = sorted({task_id for tasks in by_task for task_id in tasks})
    rows = [(r.run, tasks) for r, tasks in zip(recent, by_task, strict=True)]
    return TaskCharts(
        [r.run for r in recent],
        _chart("Task duration", rows, task_ids, _duration),
        _chart("Landing time", rows, task_ids, _landing),
    )


def _by_task(tis: list[TaskInstance]) -> dict[str, list[TaskInstance]]:
    """A run's task instances by task id (a mapped task's instances together)."""
    tasks: dict[str, list[TaskInstance]] = {}
    for ti in tis:
        tasks.setdefault(ti.task_id, []).append(ti)
    return tasks


def _duration(run: DagRun, tis: list[TaskInstance]) -> float | None:
    times = _times(tis)
    return None if times is None else (times[1] - times[0]).total_seconds()


def _landing(run: DagRun, tis: list[TaskInstance]) -> float | None:
    times = _times(tis)
    if times is None:
        return None
    return (times[1] - (run.data_interval_end or run.logical_date)).total_seconds()


def _times(tis: list[TaskInstance]) -> tuple[datetime, datetime] | None:
    """A task's first start and last end in a run; None unless every instance ended."""
    starts = [ti.start_date for ti in tis]
    ends = [ti.end_date for ti in tis]
    if not tis or any(s is None for s in starts) or any(e is None for e in ends):
        return None
    return min(s for s in starts if s), max(e for e in ends if e)


Measure = Callable[[DagRun, list[TaskInstance]], float | None]
Rows = list[tuple[DagRun, dict[str, list[TaskInstance]]]]


def _chart(title: str, rows: Rows, task_ids: list[str], measure: Measure) -> Chart:
    table = {t: [_measure(run, tasks.get(t), measure) for run, tasks in rows] for t in task_ids}
    found = [v for values in table.values() for v in values if v is not None]
    low, high = min([0.0, *found]), max([1.0, *found])
    scale = _Scale(low, high, len(rows))
    runs = [run for run, _ in rows]
    series = [
        Series(task_id, index % PALETTE, _points(task_id, runs, table[task_id], scale))
        for index, task_id in enumerate(task_ids)
    ]
    levels = [low + (high - low) * k / TICKS for k in range(TICKS + 1)]
    ticks = [(scale.y(level), signed(level)) for level in levels]
    values = {t: ["—" if v is None else signed(v) for v in vs] for t, vs in table.items()}
    return Chart(title, series, ticks, runs, values, scale.y(0.0))


def _measure(run: DagRun, tis: list[TaskInstance] | None, measure: Measure) -> float | None:
    return None if not tis else measure(run, tis)


def _points(
    task_id: str, runs: list[DagRun], values: list[float | None], scale: _Scale
) -> list[Point]:
    return [
        Point(scale.x(i), scale.y(v), run.run_id, f"{task_id} on {run.run_id}: {signed(v)}")
        for i, (run, v) in enumerate(zip(runs, values, strict=True))
        if v is not None
    ]


@dataclass(frozen=True)
class _Scale:
    """Values to pixels: runs spread across the width, ``low..high`` seconds up the height."""

    low: float
    high: float
    count: int

    def x(self, index: int) -> float:
        if self.count <= 1:
            return (LEFT + WIDTH - RIGHT) / 2
        return LEFT + (WIDTH - RIGHT - LEFT) * index / (self.count - 1)

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * share


def signed(seconds: float) -> str:
    """Seconds as durations read elsewhere, with a minus sign when negative."""
    text = span(timedelta(seconds=abs(seconds)))
    return f"-{text}" if seconds < 0 else text
