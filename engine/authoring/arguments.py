"""Strict arguments: an argument Loom does not know is a problem that names it.

Airflow raises a bare ``TypeError`` for an unknown operator or DAG argument and ignores an
unknown ``default_args`` key. Loom reports all three as DAG problems (file, line, DAG,
task), so ``loom dags validate`` and the UI's import errors list them with the rest; an
argument Airflow renamed or removed carries a hint saying what to use instead.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

InitT = TypeVar("InitT", bound=Callable[..., None])

HINTS: dict[str, str] = {
    "schedule_interval": "renamed to schedule in Airflow 3",
    "timetable": "removed in Airflow 3: pass the timetable as schedule",
    "concurrency": "renamed to max_active_tasks in Airflow 3",
    "fail_stop": "renamed to fail_fast in Airflow 3",
    "task_concurrency": "renamed to max_active_tis_per_dag in Airflow 3",
    "default_view": "removed in Airflow 3: the UI remembers each user's view",
    "orientation": "removed in Airflow 3: the UI remembers each user's view",
    "sla": "SLAs are removed in Airflow 3: use deadline= (an alert when the task has not "
    "finished that long after its run started)",
    "sla_miss_callback": "SLAs are removed in Airflow 3: use deadline= with email= or notify=",
    "provide_context": "removed in Airflow 2: callables receive the context values they name",
    "execution_date": "renamed to logical_date in Airflow 3",
}
"""Airflow arguments renamed or removed, and what to use instead."""


def unknown_argument(name: str, *, of: str) -> str:
    """The problem of an unknown argument ``name`` of ``of``, with a hint where known."""
    hint = HINTS.get(name)
    return f"unknown argument {name!r} to {of}" + (f" ({hint})" if hint else "")


def unknown_default_arg(name: str) -> str:
    """The problem of a ``default_args`` key that no task setting or operator takes."""
    hint = HINTS.get(name) or "no task setting or operator argument has this name"
    return f"unknown default_args key {name!r} ({hint})"


def report_unknown_keywords(init: InitT) -> InitT:
    """Wrap ``init`` (a keyword-only ``__init__`` of an object with ``add_problem``) so that
    keywords it does not take become problems of the object instead of a ``TypeError``."""
    known = frozenset(inspect.signature(init).parameters)

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        unknown = sorted(kwargs.keys() - known)
        init(self, *args, **{k: v for k, v in kwargs.items() if k in known})
        for name in unknown:
            self.add_problem(unknown_argument(name, of=type(self).__name__))

    return wrapper  # type: ignore[return-value]
