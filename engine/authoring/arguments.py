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
    "template_undefined": "not supported: an undefined name in a template is always an "
    "error naming the field and the name",
    "jinja_environment_kwargs": "not supported: use user_defined_macros, "
    "user_defined_filters, template_searchpath and render_template_as_native_obj",
    "access_control": "not supported: a role's DAGs are chosen by tag (loom roles), "
    "not by DAG files",
    "auto_register": "not supported: every DAG a file defines at import is registered",
    "disable_bundle_versioning": "not supported: Loom keeps every version of every DAG",
    "start_date": "not supported on tasks: a task runs in every run of its DAG; set the "
    "DAG's start_date (or default_args['start_date']), or skip with a branch",
    "end_date": "not supported on tasks: set the DAG's end_date, or skip with a branch",
    "wait_for_past_depends_before_skipping": "not supported: with depends_on_past, a task "
    "waits for its previous run before any trigger-rule skip",
    "executor": "not supported: Loom has one executor; route with queue= instead",
    "executor_config": "not supported: Loom has one executor; route with queue= instead",
    "resources": "not supported: route heavy tasks with queue= and pool=",
    "run_as_user": "not supported: a task runs as its worker's user; run such workers "
    "as that user and route with queue=",
    "deferrable": "taken by the operators that have a trigger: the time, date and file "
    "sensors, ExternalTaskSensor and TriggerDagRunOperator; a custom operator calls "
    "self.defer()",
    "map_index_template": "not supported yet: mapped instances are named by their index",
    "logger_name": "not supported: a task logs through the 'user.task' logger or print",
    "allow_nested_operators": "not supported: an operator runs one task; nest none",
    "index_urls_from_connection_ids": "not supported yet (connections): pass index_urls",
    "use_dill": "removed in Airflow 3: use serializer='dill'",
}
"""Airflow arguments renamed, removed, or deliberately not taken, and what to use instead
(docs/migrating.md lists them with the reasons)."""


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
