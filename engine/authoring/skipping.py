"""How a task asks, from inside ``execute``, that tasks below it be skipped.

A worker's finish (and ``loom dags test``) moves the named task instances of the run from
``none`` to ``skipped`` in the transaction that records the task's success, as Airflow's
``SkipMixin.skip`` does; trigger rules then decide what lies further down.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.authoring.nodes import reachable

if TYPE_CHECKING:
    from engine.authoring.baseoperator import BaseOperator


@dataclass(frozen=True)
class DownstreamSkip:
    """What ``execute`` returns to skip ``task_ids``; ``value`` is still the task's XCom."""

    value: Any
    task_ids: tuple[str, ...]


def descendants(task: BaseOperator) -> set[str]:
    """Every task below ``task`` in its DAG, directly or not."""
    assert task.dag is not None, f"task {task.task_id!r} has no DAG"
    return reachable(task.dag.task_dict, [task.task_id], downstream=True)


def skip_downstream(task: BaseOperator, value: Any, task_ids: Iterable[str]) -> DownstreamSkip:
    """Skip ``task_ids`` except teardowns (a skipped setup path still cleans up, as in
    Airflow), keeping ``value`` as the XCom."""
    assert task.dag is not None, f"task {task.task_id!r} has no DAG"
    tasks = task.dag.task_dict
    kept = sorted(t for t in task_ids if not tasks[t].is_teardown)
    return DownstreamSkip(value, tuple(kept))
