"""What graph code reads of a task: an operator and a serialized task both fit."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol


class TaskNode(Protocol):
    """A task as a node of its DAG: its id and its neighbours' ids."""

    @property
    def task_id(self) -> str: ...
    @property
    def upstream_task_ids(self) -> Collection[str]: ...
    @property
    def downstream_task_ids(self) -> Collection[str]: ...
