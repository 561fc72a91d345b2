"""Per-task concurrency: ``max_active_tis_per_dag`` and ``max_active_tis_per_dagrun``.

A task with ``max_active_tis_per_dag=n`` has at most ``n`` instances queued or running
across all runs of its DAG; with ``max_active_tis_per_dagrun=n``, at most ``n`` in one run.
The limits are read from the graph of each waiting instance's run (its DAG version, as
every other scheduling decision); instances in use are counted only for tasks that have a
limit, so a DAG without one costs no query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.models import TaskInstance
from engine.services.dagversions import load_run_dags
from engine.state import ACTIVE
from engine.trykey import HasInstanceKey

TaskKey = tuple[str, str]
"""``(dag_id, task_id)``."""


@dataclass
class TaskLimits:
    """The limits of the waiting instances' tasks and the instances holding them."""

    per_dag: dict[TaskKey, int] = field(default_factory=dict)
    per_run: dict[TaskKey, int] = field(default_factory=dict)
    in_dag: Counter[TaskKey] = field(default_factory=Counter)
    in_run: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def admits(self, ti: HasInstanceKey) -> bool:
        key = (ti.dag_id, ti.task_id)
        if key in self.per_dag and self.in_dag[key] >= self.per_dag[key]:
            return False
        return key not in self.per_run or self.in_run[_run_key(ti)] < self.per_run[key]

    def take(self, ti: HasInstanceKey) -> None:
        self.in_dag[(ti.dag_id, ti.task_id)] += 1
        self.in_run[_run_key(ti)] += 1


def _run_key(ti: HasInstanceKey) -> tuple[str, str, str]:
    return (ti.dag_id, ti.run_id, ti.task_id)


class WaitingInstance(HasInstanceKey, Protocol):
    """A waiting instance that also knows its run."""

    @property
    def dag_run_id(self) -> int: ...


def task_limits(
    *,
    session: Session,
    waiting: Sequence[WaitingInstance],
    graphs: Mapping[int, SerializedDAG] | None = None,
) -> TaskLimits:
    """The limits of the tasks of ``waiting`` and their instances in use now.

    ``graphs`` are the runs' graphs by run id, when the caller holds them already; the
    others are loaded (in one query)."""
    limits = TaskLimits()
    dags = dict(graphs or {})
    missing = {ti.dag_run_id for ti in waiting} - dags.keys()
    if missing:
        found = load_run_dags(session=session, run_ids=missing)
        dags.update((run_id, run_dag.dag) for run_id, run_dag in found.items())
    for ti in waiting:
        dag = dags.get(ti.dag_run_id)
        task = dag.tasks.get(ti.task_id) if dag is not None else None
        if task is not None and task.max_active_tis_per_dag is not None:
            limits.per_dag[(ti.dag_id, ti.task_id)] = task.max_active_tis_per_dag
        if task is not None and task.max_active_tis_per_dagrun is not None:
            limits.per_run[(ti.dag_id, ti.task_id)] = task.max_active_tis_per_dagrun
    limited = set(limits.per_dag) | set(limits.per_run)
    if not limited:
        return limits
    rows = session.execute(
        sa.select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id, sa.func.count())
        .where(
            TaskInstance.state.in_(list(ACTIVE)),
            TaskInstance.dag_id.in_(sorted({dag_id for dag_id, _ in limited})),
            TaskInstance.task_id.in_(sorted({task_id for _, task_id in limited})),
        )
        .group_by(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id)
    )
    for dag_id, run_id, task_id, count in rows:
        limits.in_dag[(dag_id, task_id)] += int(count)
        limits.in_run[(dag_id, run_id, task_id)] += int(count)
    return limits
