"""``get_current_context()``: the running task's context, from anywhere in its code.

Airflow's TaskFlow functions call it instead of taking context values as arguments. The
context is set for the duration of ``execute`` (see :func:`engine.execution.attempt.run_attempt`)
in a context variable, so threads and tasks of other processes never see each other's.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any

from engine.scoped import scoped

_current: ContextVar[Mapping[str, Any] | None] = ContextVar("loom_task_context", default=None)


class NoTaskContextError(RuntimeError):
    """``get_current_context()`` was called outside a running task."""


def get_current_context() -> Mapping[str, Any]:
    """The context of the task running now (``ti``, ``params``, ``ds``, ``dag_run``...).

    Raises :class:`NoTaskContextError` outside a task's ``execute``, as Airflow does (at
    the top level of a DAG file there is no task yet).
    """
    context = _current.get()
    if context is None:
        raise NoTaskContextError(
            "get_current_context() was called outside a running task: call it inside a "
            "@task function or an operator's execute()"
        )
    return context


def current_context(context: Mapping[str, Any]) -> AbstractContextManager[None]:
    """Make ``context`` what :func:`get_current_context` returns inside the block."""
    return scoped(_current, context)
