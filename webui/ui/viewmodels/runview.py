"""What the run and task instance pages show, read in a few queries.

A run's task instances with their tries, times and where each sits on the run's
timeline (a Gantt chart); a task instance's attempts without their logs, and its
templated fields as rendered by a try (or as the DAG file writes them, before any try).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedTask
from engine.durations import seconds_between
from engine.models import DagRun, TaskAttempt, TaskInstance
from engine.services.dagversions import load_run_dag
from engine.services.runs import get_run
from engine.services.taskinstances import task_instances
from engine.state import FAILED_STATES, FINISHED, RUN_FINISHED, TaskInstanceState

SHORTEST_TIMELINE_SECONDS = 1.0
"""A timeline spans at least this long, so that instant tasks do not fill the chart."""


def instance_name(ti: TaskInstance) -> str:
    """How a task instance is named on a page: ``add``, or ``add[2]`` for map index 2."""
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"


@dataclass(frozen=True)
class Bar:
    """Where a task instance ran on its run's timeline, in fractions of the timeline."""

    left: float
    width: float
    offset: float
    """Seconds from the timeline's start to the task instance's start."""


@dataclass(frozen=True)
class TaskRow:
    """One task instance of the run page: its duration so far and its bar (None: not started)."""

    ti: TaskInstance
    duration: float | None
    bar: Bar | None

    @property
    def finished(self) -> bool:
        return self.ti.state in FINISHED

    @property
    def name(self) -> str:
        """The task id, and the map index of a mapped task's instance: ``add[2]``."""
        return instance_name(self.ti)


@dataclass(frozen=True)
class RunView:
    """A run with its task instances in start order."""

    run: DagRun
    rows: list[TaskRow]

    @property
    def finished(self) -> bool:
        return self.run.state in RUN_FINISHED

    @property
    def duration(self) -> float | None:
        return seconds_between(self.run.start_date, self.run.end_date)

    @property
    def failed_task_ids(self) -> list[str]:
        """The tasks that failed or could not run because an upstream failed."""
        failed = [row.ti.task_id for row in self.rows if row.ti.state in FAILED_STATES]
        return list(dict.fromkeys(failed))  # a mapped task once, however many instances


def run_view(*, session: Session, dag_id: str, run_id: str, now: datetime) -> RunView:
    """The run ``run_id`` of ``dag_id`` and its task instances; NotFoundError when absent.

    Times of what still runs are counted to ``now``.
    """
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    tis = task_instances(session=session, run=run)
    start, length = _timeline(run, tis, now)
    rows = [TaskRow(ti, ti_seconds(ti, now), _bar(ti, start, length, now)) for ti in tis]
    return RunView(run, rows)


def _timeline(run: DagRun, tis: list[TaskInstance], now: datetime) -> tuple[datetime | None, float]:
    """The chart's start (the earliest start, kept by a cleared run's unchanged tasks
    too) and its length in seconds."""
    starts = [t for t in [run.start_date, *(ti.start_date for ti in tis)] if t is not None]
    if not starts:
        return None, SHORTEST_TIMELINE_SECONDS
    run_end = run.end_date or (None if run.state in RUN_FINISHED else now)
    ends = [run_end, *(_ti_end(ti, now) for ti in tis if ti.start_date is not None)]
    begin = min(starts)
    stop = max([e for e in ends if e is not None], default=begin)
    return begin, max((stop - begin).total_seconds(), SHORTEST_TIMELINE_SECONDS)


def _bar(ti: TaskInstance, start: datetime | None, length: float, now: datetime) -> Bar | None:
    if start is None or ti.start_date is None:
        return None
    offset = (ti.start_date - start).total_seconds()
    ran = (_ti_end(ti, now) - ti.start_date).total_seconds()
    left = min(max(offset / length, 0.0), 1.0)
    return Bar(left=left, width=min(max(ran / length, 0.0), 1.0 - left), offset=offset)


def _ti_end(ti: TaskInstance, now: datetime) -> datetime:
    """When the task instance stopped, or ``now`` while it may still run."""
    if ti.end_date is not None:
        return ti.end_date
    return now if ti.state not in FINISHED else ti.start_date or now


def ti_seconds(ti: TaskInstance, now: datetime) -> float | None:
    """How long ``ti``'s latest try ran (so far, while it runs); None before it started."""
    if ti.start_date is None:
        return None
    if ti.state is TaskInstanceState.RUNNING:
        return seconds_between(ti.start_date, now)
    if ti.duration is not None:
        return ti.duration
    return seconds_between(ti.start_date, ti.end_date)


@dataclass(frozen=True)
class TaskFields:
    """A task's templated fields (a BashOperator's command, a PythonOperator's arguments)."""

    values: dict[str, Any]
    rendered_by_try: int | None
    """The try that rendered them; None: as the DAG file writes them (no try rendered yet)."""
    renderers: dict[str, str] = field(default_factory=dict)
    """How each field reads (``bash``, ``sql``, ``json``...): the operator's
    ``template_fields_renderers``."""


def run_task(*, session: Session, ti: TaskInstance) -> SerializedTask | None:
    """``ti``'s task in its run's DAG version (None when that version has no such task):
    what :func:`task_fields` and :func:`task_docs` read, looked up once per page."""
    return load_run_dag(session=session, run=ti.dag_run).dag.tasks.get(ti.task_id)


def task_fields(task: SerializedTask | None, attempt: TaskAttempt | None) -> TaskFields:
    """The fields ``attempt`` rendered, else the templates of the run's DAG version."""
    renderers = {} if task is None else dict(task.template_fields_renderers)
    if attempt is not None and attempt.rendered:
        return TaskFields(dict(attempt.rendered), attempt.try_number, renderers)
    written = {} if task is None else {k: task.fields.get(k) for k in task.template_fields}
    return TaskFields(written, None, renderers)


DOC_KINDS = (("doc_md", "Markdown"), ("doc_rst", "reStructuredText"), ("doc", "Text"),
             ("doc_json", "JSON"), ("doc_yaml", "YAML"))  # fmt: skip
"""A task's documentation arguments and how the page labels them."""


@dataclass(frozen=True)
class TaskDocs:
    """What the task details show of a task's own description."""

    display_name: str | None
    """Its ``task_display_name``, when it has one."""
    docs: list[tuple[str, str, bool]]
    """``(label, text, is_markdown)`` of each doc argument given: ``doc_md`` is rendered
    as Markdown (raw HTML escaped), the others are shown as escaped preformatted text."""


def task_docs(task: SerializedTask | None) -> TaskDocs:
    """The display name and docs of a task (from its run's DAG version)."""
    if task is None:
        return TaskDocs(None, [])
    docs = [
        (label, getattr(task, name), name == "doc_md")
        for name, label in DOC_KINDS
        if getattr(task, name)
    ]
    return TaskDocs(task.task_display_name, docs)
