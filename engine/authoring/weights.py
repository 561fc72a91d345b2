"""Effective priority weights: what the scheduler sorts ready task instances by.

As in Airflow, a task's ``weight_rule`` says how its weight adds up: ``downstream`` (the
default) adds the ``priority_weight`` of every task below it, ``upstream`` of every task
above it, ``absolute`` nothing. Each task in the closure counts once, however many paths
lead to it, so a diamond ``a >> [b, c] >> d`` of weight-1 tasks gives ``a`` 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from engine.authoring.nodes import TaskNode, reachable

INT32 = (-(2**31), 2**31 - 1)
"""The range the total is clamped to (the database column is a 32-bit integer)."""


class Weighted(TaskNode, Protocol):
    """What the sum reads of a task (an operator or a serialized task)."""

    @property
    def priority_weight(self) -> int: ...
    @property
    def weight_rule(self) -> str: ...


def effective_weights(tasks: Mapping[str, Weighted]) -> dict[str, int]:
    """Each task's total weight by its rule, from the whole graph."""
    totals: dict[str, int] = {}
    for task_id, task in tasks.items():
        if task.weight_rule == "absolute":
            closure: set[str] = set()
        else:
            down = task.weight_rule == "downstream"
            closure = reachable(tasks, [task_id], downstream=down) - {task_id}
        total = task.priority_weight + sum(tasks[other].priority_weight for other in closure)
        totals[task_id] = max(INT32[0], min(INT32[1], total))
    return totals
