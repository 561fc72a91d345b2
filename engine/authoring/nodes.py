"""What graph code reads of a task: an operator and a serialized task both fit."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Protocol


class TaskNode(Protocol):
    """A task as a node of its DAG: its id and its neighbours' ids."""

    @property
    def task_id(self) -> str: ...
    @property
    def upstream_task_ids(self) -> Collection[str]: ...
    @property
    def downstream_task_ids(self) -> Collection[str]: ...


def reachable(tasks: Mapping[str, TaskNode], start: Iterable[str], *, downstream: bool) -> set[str]:
    """Every task of ``tasks`` reachable from ``start`` (excluded) in one direction."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        task = tasks[todo.pop()]
        for nxt in task.downstream_task_ids if downstream else task.upstream_task_ids:
            if nxt not in seen and nxt in tasks:
                seen.add(nxt)
                todo.append(nxt)
    return seen
