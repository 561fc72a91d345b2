"""Mapped tasks as the grid, the graph and their own page show them: how many instances a
mapped task has in a run, one state for all of them, and a summary a person reads
("3 mapped: 2 success, 1 failed").

A mapped task starts a run as one placeholder instance (``map_index`` -1); the scheduler
expands it into instances 0..n-1 once its input's length is known. Until then the task
is "not expanded" (its badge reads ``[ ]``) and its state is the placeholder's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.models import DagRun, TaskInstance
from engine.services.pagination import Page
from engine.services.runs import get_run
from engine.services.taskinstances import mapped_instance_query
from engine.state import RUN_FINISHED, TaskInstanceState
from webui.ui.viewmodels.groups import aggregate_state
from webui.ui.viewmodels.runview import ti_seconds

_ORDER = {state: place for place, state in enumerate(TaskInstanceState)}


@dataclass(frozen=True)
class MappedSummary:
    """A mapped task's instances in one run."""

    count: int
    """Instances with a map index (0 while the task is not expanded)."""
    by_state: tuple[tuple[TaskInstanceState, int], ...]
    """How many instances are in each state, the most first."""
    state: TaskInstanceState | None
    """One state for them all, as a task group's is (see :func:`aggregate_state`)."""

    @property
    def expanded(self) -> bool:
        return self.count > 0

    @property
    def badge(self) -> str:
        """What the task's name carries: ``[3]``, or ``[ ]`` before the expansion."""
        return f"[{self.count}]" if self.expanded else "[ ]"

    @property
    def text(self) -> str:
        """``3 mapped: 2 success, 1 failed``, or why there are no instances yet."""
        if not self.expanded:
            state = _label(self.state) if self.state is not None else "no instance"
            return f"mapped, not expanded yet ({state})"
        parts = ", ".join(f"{n} {_label(state)}" for state, n in self.by_state)
        return f"{self.count} mapped: {parts}"


def _label(state: TaskInstanceState) -> str:
    return state.value.replace("_", " ")


def summarize(instances: Iterable[tuple[int, TaskInstanceState]]) -> MappedSummary:
    """The summary of a mapped task's ``(map_index, state)`` pairs in one run.

    The placeholder (-1) counts only while there is no expanded instance (the scheduler
    turns it into instance 0, so both never coexist in a consistent run).
    """
    pairs = list(instances)
    expanded = [state for index, state in pairs if index >= 0]
    states = expanded or [state for _, state in pairs]
    counted = Counter(expanded)
    by_state = sorted(counted.items(), key=lambda item: (-item[1], _ORDER[item[0]]))
    return MappedSummary(len(expanded), tuple(by_state), aggregate_state(states))


def mapped_task_ids(dag: SerializedDAG) -> set[str]:
    """The DAG's mapped tasks (``.expand()``, ``.expand_kwargs()``)."""
    return {task_id for task_id, task in dag.tasks.items() if task.mapped is not None}


def run_summaries(*, session: Session, run: DagRun, dag: SerializedDAG) -> dict[str, MappedSummary]:
    """Each mapped task's summary in ``run`` (a task the DAG no longer maps but whose
    instances have map indexes counts as mapped), in one query."""
    mapped = mapped_task_ids(dag)
    stmt = sa.select(TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state).where(
        TaskInstance.dag_run_id == run.id,
        sa.or_(TaskInstance.map_index >= 0, TaskInstance.task_id.in_(sorted(mapped))),
    )
    found: dict[str, list[tuple[int, TaskInstanceState]]] = {}
    for task_id, map_index, state in session.execute(stmt):
        found.setdefault(task_id, []).append((map_index, state))
    return {task_id: summarize(pairs) for task_id, pairs in found.items()}


@dataclass(frozen=True)
class MappedRow:
    """One instance of the list: the instance and how long it ran (None: not started)."""

    ti: TaskInstance
    duration: float | None

    @property
    def index_label(self) -> str:
        """The map index, or what the placeholder is before the expansion."""
        return str(self.ti.map_index) if self.ti.map_index >= 0 else "not expanded"


@dataclass(frozen=True)
class MappedList:
    """The page of a mapped task in a run: its summary and one page of its instances."""

    run: DagRun
    task_id: str
    summary: MappedSummary
    rows: list[MappedRow]
    page: Page[TaskInstance]

    @property
    def finished(self) -> bool:
        return self.run.state in RUN_FINISHED


MAPPED_PAGE_SIZE = 100
"""Instances the mapped list shows per page (a task may map over thousands of values)."""


def mapped_list(
    *, session: Session, dag_id: str, run_id: str, task_id: str, offset: int, now: datetime
) -> MappedList:
    """A page of ``task_id``'s instances in the run, by map index, and their summary over
    all of them; :class:`NotFoundError` naming the missing run or task."""
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    stmt = mapped_instance_query(session=session, dag_id=dag_id, run_id=run_id, task_id=task_id)
    pairs = [
        (map_index, state)
        for map_index, state in session.execute(
            stmt.with_only_columns(TaskInstance.map_index, TaskInstance.state)
        )
    ]
    rows = list(
        session.scalars(
            stmt.order_by(TaskInstance.map_index).limit(MAPPED_PAGE_SIZE).offset(offset)
        )
    )
    summary = summarize(pairs)
    total = summary.count or len(rows)
    page = Page(items=rows, total=total, limit=MAPPED_PAGE_SIZE, offset=offset)
    listed = [MappedRow(ti, ti_seconds(ti, now)) for ti in rows]
    return MappedList(run, task_id, summary, listed, page)
