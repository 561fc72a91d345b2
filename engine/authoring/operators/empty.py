"""EmptyOperator: a task that does nothing, for grouping and joins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.authoring.baseoperator import BaseOperator


class EmptyOperator(BaseOperator):
    """Does nothing and succeeds; useful as a start, a join or a placeholder.

    It never reaches a worker: the scheduler marks it ``success`` when it is ready (see
    :mod:`engine.scheduling.emptytasks`), unless it has an ``on_execute_callback`` or
    ``on_success_callback`` (user code that must run on a worker).
    """

    def execute(self, context: Mapping[str, Any]) -> None:
        return None


def runs_no_code(task: BaseOperator) -> bool:
    """Whether ``task`` is an EmptyOperator whose ``execute`` nobody replaced (a subclass
    that overrides it runs on a worker like any task)."""
    return (
        isinstance(task, EmptyOperator)
        and type(task).execute is EmptyOperator.execute
        and not task.outlets  # its asset events are written by a worker's finish
        and type(task).pre_execute is BaseOperator.pre_execute
        and type(task).post_execute is BaseOperator.post_execute
        and task._pre_execute_hook is None  # hooks are code: a worker runs them
        and task._post_execute_hook is None
    )
