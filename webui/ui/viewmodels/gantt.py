"""A run's Gantt chart: a row per task instance with its queued and running segments.

The **queued** segment runs from when the scheduler queued the latest try to when a
worker started it (to now while it waits); the **running** segment from its start to its
end (to now while it runs). Both are of the latest try: an earlier try's times are on the
task instance's page. A mapped task with more than :data:`LISTED_INSTANCES` instances is
one row summing them up: queued from the first instance queued to the first start,
running from the first start to the last end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from engine.models import DagRun, TaskInstance
from engine.services.runs import get_run
from engine.services.taskinstances import task_instances
from engine.state import FINISHED, RUN_FINISHED, TaskInstanceState
from webui.ui.present import span, state_label
from webui.ui.viewmodels.groups import aggregate_state
from webui.ui.viewmodels.runview import SHORTEST_TIMELINE_SECONDS, instance_name

LISTED_INSTANCES = 10
"""A mapped task with more instances than this is one summary row."""
TICKS = 4


@dataclass(frozen=True)
class Segment:
    """A stretch of a row, in fractions of the timeline."""

    kind: str
    """``queued`` or ``running``."""
    left: float
    width: float
    label: str


@dataclass(frozen=True)
class GanttRow:
    """One task instance (or a mapped task's summary) and its segments."""

    name: str
    task_id: str
    map_index: int | None
    """The instance's map index; None for a summary row (or a task that is not mapped)."""
    instances: int
    state: TaskInstanceState | None
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    segments: list[Segment]

    @property
    def summary(self) -> bool:
        return self.instances > 1


@dataclass(frozen=True)
class Gantt:
    run: DagRun
    rows: list[GanttRow]
    start: datetime | None
    ticks: list[tuple[float, str]]
    """Each tick's place (a fraction of the timeline) and its offset from the start."""

    @property
    def finished(self) -> bool:
        return self.run.state in RUN_FINISHED


@dataclass(frozen=True)
class _Span:
    """One row's times before they are placed on the timeline."""

    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    ended: bool


def run_gantt(*, session: Session, dag_id: str, run_id: str, now: datetime) -> Gantt:
    """The Gantt chart of run ``run_id``; NotFoundError when there is no such run."""
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    groups = _grouped(task_instances(session=session, run=run))
    spans = [(group, _span_of(group)) for group in groups]
    moments = [m for _, s in spans for m in (s.queued_at, s.start_date, s.end_date) if m]
    if not moments:
        return Gantt(run, [_row(g, s, None, 1.0, now) for g, s in spans], None, [])
    begin = min(moments)
    waiting = any(not s.ended and (s.start_date or s.queued_at) for _, s in spans)
    stop = max([*moments, now] if waiting else moments)
    length = max((stop - begin).total_seconds(), SHORTEST_TIMELINE_SECONDS)
    ticks = [
        (k / TICKS, "+" + span(timedelta(seconds=length * k / TICKS))) for k in range(TICKS + 1)
    ]
    return Gantt(run, [_row(g, s, begin, length, now) for g, s in spans], begin, ticks)


def _grouped(tis: list[TaskInstance]) -> list[list[TaskInstance]]:
    """Each task instance alone, but a mapped task's many instances together (in the place
    of its first one)."""
    counts: dict[str, int] = {}
    for ti in tis:
        counts[ti.task_id] = counts.get(ti.task_id, 0) + 1
    groups: list[list[TaskInstance]] = []
    summed: dict[str, list[TaskInstance]] = {}
    for ti in tis:
        if counts[ti.task_id] <= LISTED_INSTANCES:
            groups.append([ti])
        elif ti.task_id in summed:
            summed[ti.task_id].append(ti)
        else:
            summed[ti.task_id] = [ti]
            groups.append(summed[ti.task_id])
    return groups


def _span_of(group: list[TaskInstance]) -> _Span:
    ended = all(ti.state in FINISHED for ti in group)
    return _Span(
        _earliest(ti.queued_at for ti in group),
        _earliest(ti.start_date for ti in group),
        max((ti.end_date for ti in group if ti.end_date), default=None) if ended else None,
        ended,
    )


def _earliest(moments: Iterable[datetime | None]) -> datetime | None:
    return min((m for m in moments if m is not None), default=None)


def _row(
    group: list[TaskInstance], times: _Span, begin: datetime | None, length: float, now: datetime
) -> GanttRow:
    first = group[0]
    summary = len(group) > 1
    name = f"{first.task_id} [{len(group)}]" if summary else instance_name(first)
    state = aggregate_state(ti.state for ti in group) if summary else first.state
    segments = [] if begin is None else _segments(name, times, begin, length, now)
    map_index = None if summary or first.map_index < 0 else first.map_index
    return GanttRow(
        name, first.task_id, map_index, len(group), state,
        times.queued_at, times.start_date, times.end_date, segments,
    )  # fmt: skip


def _segments(
    name: str, times: _Span, begin: datetime, length: float, now: datetime
) -> list[Segment]:
    """The queued segment (when the try was queued before it started) and the running one."""
    segments = []
    queued_at, start = times.queued_at, times.start_date
    if queued_at is not None and (start is None or queued_at <= start):
        waited_until = start or (now if not times.ended else queued_at)
        segments.append(_segment("queued", name, queued_at, waited_until, begin, length))
    if start is not None:
        end = times.end_date or (now if not times.ended else start)
        segments.append(_segment("running", name, start, end, begin, length))
    return segments


def _segment(
    kind: str, name: str, start: datetime, end: datetime, begin: datetime, length: float
) -> Segment:
    seconds = max((end - start).total_seconds(), 0.0)
    left = min(max((start - begin).total_seconds() / length, 0.0), 1.0)
    width = min(seconds / length, 1.0 - left)
    offset = span(start - begin)
    label = f"{name}: {state_label(kind)} {span(end - start)}, from +{offset}"
    return Segment(kind, left, width, label)
