"""The DAG: a named graph of tasks with a schedule, and the ``with DAG(...)`` context."""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, overload
from zoneinfo import ZoneInfo

from engine.authoring.arguments import report_unknown_keywords
from engine.authoring.assets import BaseAsset
from engine.authoring.callsite import CallSite, user_call_site
from engine.authoring.dagsettings import (
    as_mapping,
    as_searchpath,
    presentation_problems,
    template_problems,
)
from engine.authoring.params import Param, as_params, default_problems
from engine.authoring.schedules import Schedule, parse_schedule
from engine.authoring.taskgroup import TaskGroup
from engine.authoring.tasksettings import as_callbacks, as_names
from engine.authoring.timetables.assets import AssetTriggeredTimetable
from engine.authoring.timetables.base import Timetable
from engine.authoring.timetables.simple import NullTimetable
from engine.errors import InvalidInputError
from engine.timeutil import ensure_aware

if TYPE_CHECKING:
    from engine.authoring.baseoperator import BaseOperator

P = ParamSpec("P")
ID_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,250}")
Callback = Callable[[dict[str, Any]], Any]

_context_stack: list[DAG] = []
_collectors: list[list[DAG]] = []


def current_dag() -> DAG | None:
    """The DAG of the innermost ``with DAG(...)`` block, if any."""
    return _context_stack[-1] if _context_stack else None


@contextmanager
def collect_dags() -> Iterator[list[DAG]]:
    """Collect every DAG constructed inside the block (how the parser finds a file's DAGs)."""
    found: list[DAG] = []
    _collectors.append(found)
    try:
        yield found
    finally:
        _collectors.remove(found)


class DAG:
    """A workflow: tasks, their dependencies, and when it runs.

    Use it as a context manager; operators created inside the block join it::

        with DAG("etl", schedule="@daily", start_date=datetime(2026, 1, 1)) as dag:
            extract >> transform >> load
    """

    @report_unknown_keywords
    def __init__(
        self,
        dag_id: str,
        *,
        schedule: str | timedelta | Timetable | BaseAsset | Sequence[BaseAsset] | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        catchup: bool = False,
        default_args: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        max_active_runs: int = 16,
        max_active_tasks: int = 16,
        dagrun_timeout: timedelta | None = None,
        is_paused_upon_creation: bool = False,
        doc_md: str | None = None,
        on_success_callback: Callback | list[Callback] | None = None,
        on_failure_callback: Callback | list[Callback] | None = None,
        email: str | Sequence[str] | None = None,
        email_on_failure: bool | None = None,
        email_on_retry: bool | None = None,
        email_on_success: bool = False,
        notify: str | Sequence[str] | None = None,
        notify_on_success: bool = False,
        deadline: timedelta | None = None,
        dag_display_name: str | None = None,
        owner_links: Mapping[str, str] | None = None,
        fail_fast: bool = False,
        max_consecutive_failed_dag_runs: int | None = None,
        template_searchpath: str | Sequence[str] | None = None,
        user_defined_macros: Mapping[str, Any] | None = None,
        user_defined_filters: Mapping[str, Callable[..., Any]] | None = None,
        render_template_as_native_obj: bool = False,
    ) -> None:
        self.call_site: CallSite = user_call_site()
        self.problems: list[tuple[str, CallSite]] = []
        self.dag_id = dag_id
        self.fileloc = self.call_site.file or "<unknown>"
        self.description = description
        self.doc_md = doc_md
        self.dag_display_name = dag_display_name
        """What the UI shows instead of the dag_id, when given."""
        self.owner_links: dict[str, str] = (
            dict(owner_links) if isinstance(owner_links, Mapping) else {}
        )
        """A link per owner name (http(s) or mailto), shown on the owner in the UI."""
        if owner_links is not None and not isinstance(owner_links, Mapping):
            self.add_problem(f"owner_links must be a dict of owner to link, got {owner_links!r}")
        self.fail_fast = fail_fast
        """A task that fails for good fails the run's running tasks and skips the rest."""
        self.max_consecutive_failed_dag_runs = max_consecutive_failed_dag_runs
        """Pause the DAG after this many failed runs in a row; None: the configured
        ``core.max_consecutive_failed_dag_runs_per_dag``; 0: never."""
        self.default_args: dict[str, Any] = dict(default_args or {})
        self.template_searchpath: list[str] = as_searchpath(template_searchpath)
        """Folders (besides the DAG file's) where template files are found."""
        self.user_defined_macros: dict[str, Any] = as_mapping(user_defined_macros)
        """Names every template of the DAG can use (``{{ my_macro(ds) }}``)."""
        self.user_defined_filters: dict[str, Callable[..., Any]] = as_mapping(user_defined_filters)
        """Filters every template of the DAG can use (``{{ ds | my_filter }}``)."""
        self.render_template_as_native_obj = render_template_as_native_obj
        """Templates render to Python objects (a list stays a list), not text."""
        self._share_alert_settings(
            email=email,
            email_on_failure=email_on_failure,
            email_on_retry=email_on_retry,
            notify=notify,
        )
        self.email_on_success = bool(email_on_success)
        """Alert by e-mail when a run succeeds (task successes are opted into per task)."""
        self.notify_on_success = bool(notify_on_success)
        """Tell the ``notify`` webhooks when a run succeeds."""
        self.deadline = deadline
        """Alert once when a run is still running this long after it started."""
        self.catchup = bool(catchup)
        self.tags = list(tags or [])
        self.max_active_runs = max_active_runs
        self.max_active_tasks = max_active_tasks
        self.dagrun_timeout = dagrun_timeout
        self.is_paused_upon_creation = is_paused_upon_creation
        self.on_success_callback = as_callbacks(on_success_callback)
        self.on_failure_callback = as_callbacks(on_failure_callback)
        # Airflow moves default_args' params into the DAG's (and they win).
        params = {**(params or {}), **self.default_args.pop("params", {})}
        self.params: dict[str, Param] = as_params(params)
        # Airflow 2's habit: the DAG's dates in default_args (tasks' own dates are not kept).
        start_date = start_date or self.default_args.get("start_date")
        end_date = end_date or self.default_args.get("end_date")
        self.start_date = ensure_aware(start_date) if start_date else None
        self.end_date = ensure_aware(end_date) if end_date else None
        self.timezone = _timezone_of(start_date)
        for problem in template_problems(
            template_searchpath, user_defined_macros, user_defined_filters,
            render_template_as_native_obj,
        ):  # fmt: skip
            self.add_problem(problem)
        self.schedule_arg = schedule
        self.schedule: Schedule = self._parse_schedule(schedule)
        self.task_dict: dict[str, BaseOperator] = {}
        self.pending_edges: list[tuple[str, str, CallSite]] = []
        self.edge_sites: dict[tuple[str, str], CallSite] = {}
        """Where each dependency ``(upstream, downstream)`` was first set, in the order they
        were set: a cycle is reported at the call that closed it."""
        self.task_group = TaskGroup(None, dag=self)
        """The root task group: every task and group of the DAG is in it."""
        self.group_ids: set[str] = set()
        """The full id of every task group; they share one namespace with task ids."""
        self.edge_info: dict[str, dict[str, dict[str, str]]] = {}
        """Labels on edges, ``{upstream_id: {downstream_id: {"label": ...}}}``."""
        self._check_settings()
        for collector in _collectors:
            collector.append(self)

    def _share_alert_settings(self, **given: Any) -> None:
        """Alert settings given to the DAG are its tasks' defaults too (as if in
        ``default_args``), and those in ``default_args`` are the DAG's own when it names
        none: one ``email=`` reaches both the run's and the tasks' alerts."""
        for name, value in given.items():
            if value is not None:
                self.default_args.setdefault(name, value)
        self.email: list[str] = as_names(self.default_args.get("email"))
        """Recipients of the run's alerts (failed, succeeded, deadline missed)."""
        self.email_on_failure = bool(self.default_args.get("email_on_failure", True))
        self.notify: list[str] = as_names(self.default_args.get("notify"))
        """Webhook targets (names under ``webhooks`` in loom.yaml) told about the run."""

    # -- construction checks: recorded, reported all at once by validation ----------------

    def add_problem(self, message: str, site: CallSite | None = None) -> None:
        self.problems.append((message, site or self.call_site))

    def _parse_schedule(self, schedule: object) -> Schedule:
        try:
            return parse_schedule(schedule, timezone=self.timezone)
        except InvalidInputError as exc:
            self.add_problem(str(exc))
            return NullTimetable()

    def _check_settings(self) -> None:
        if not isinstance(self.dag_id, str) or not ID_PATTERN.fullmatch(self.dag_id):
            self.add_problem(
                f"invalid dag_id {self.dag_id!r}: use 1-250 letters, digits, '_', '.' or '-'"
            )
        if (
            self.schedule_arg is not None
            and type(self.schedule) is not AssetTriggeredTimetable  # runs on events, not time
            and self.start_date is None
        ):
            self.add_problem(f"schedule {self.schedule_arg!r} needs a start_date")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            self.add_problem("end_date is before start_date")
        for name in ("max_active_runs", "max_active_tasks"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                self.add_problem(f"{name} must be a positive integer, got {value!r}")
        limit = getattr(self.schedule, "active_runs_limit", None)
        if (
            limit is not None
            and isinstance(self.max_active_runs, int)
            and self.max_active_runs > limit
        ):
            self.add_problem(
                f"schedule {self.schedule.summary} allows at most {limit} active run(s): "
                f"set max_active_runs={limit} (it is {self.max_active_runs})"
            )
        if self.dagrun_timeout is not None and (
            not isinstance(self.dagrun_timeout, timedelta) or self.dagrun_timeout <= timedelta(0)
        ):
            self.add_problem(
                f"dagrun_timeout must be a positive timedelta, got {self.dagrun_timeout!r}"
            )
        for name, param in self.params.items():
            if param.required:
                continue  # no default to check
            try:
                json.dumps(param.default)
            except (TypeError, ValueError):
                self.add_problem(f"param {name!r}: default must be JSON-serializable")
        for message in default_problems(self.params):
            self.add_problem(message)
        if not all(isinstance(tag, str) for tag in self.tags):
            self.add_problem(f"tags must be strings, got {self.tags!r}")
        if self.deadline is not None and (
            not isinstance(self.deadline, timedelta) or self.deadline <= timedelta(0)
        ):
            self.add_problem(f"deadline must be a positive timedelta, got {self.deadline!r}")
        for name in ("email", "notify"):
            if not all(isinstance(item, str) and item for item in getattr(self, name)):
                self.add_problem(f"{name} must be a string or a list of non-empty strings")
        for message in presentation_problems(self):
            self.add_problem(message)

    # -- tasks ----------------------------------------------------------------------------

    def add_task(self, task: BaseOperator, group: TaskGroup | None = None) -> None:
        """Make ``task`` part of this DAG (in ``group``, by default the root group); a
        second task with a taken id is a problem, as is a task named like a group."""
        existing = self.task_dict.get(task.task_id)
        if existing is task:
            return
        if existing is not None:
            self.add_problem(
                f"duplicate task id {task.task_id!r} (first defined at {existing.call_site})",
                task.call_site,
            )
            return
        if task.task_id in self.group_ids:
            self.add_problem(f"task id {task.task_id!r} is taken by a task group", task.call_site)
            return
        self.task_dict[task.task_id] = task
        task.dag = self
        (group or self.task_group).add(task)

    def set_edge_info(self, upstream_id: str, downstream_id: str, info: dict[str, str]) -> None:
        """Attach ``info`` (``{"label": ...}``) to an edge, replacing what it had."""
        self.edge_info.setdefault(upstream_id, {})[downstream_id] = info

    def get_edge_info(self, upstream_id: str, downstream_id: str) -> dict[str, str]:
        return self.edge_info.get(upstream_id, {}).get(downstream_id, {})

    @property
    def tasks(self) -> list[BaseOperator]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    def get_task(self, task_id: str) -> BaseOperator:
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise KeyError(f"DAG {self.dag_id!r} has no task {task_id!r}") from None

    def has_task(self, task_id: str) -> bool:
        return task_id in self.task_dict

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Every dependency as ``(upstream_id, downstream_id)``, sorted."""
        return sorted(
            (up, task.task_id) for task in self.task_dict.values() for up in task.upstream_task_ids
        )

    @property
    def leaves(self) -> list[str]:
        return [t.task_id for t in self.task_dict.values() if not t.downstream_task_ids]

    @property
    def roots(self) -> list[str]:
        return [t.task_id for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def owner(self) -> str:
        owners = sorted({t.owner for t in self.task_dict.values()})
        return ", ".join(owners) if owners else str(self.default_args.get("owner", "loom"))

    def resolve_pending_edges(self) -> list[tuple[str, CallSite]]:
        """Link dependencies given by task id; return a problem for each unknown id."""
        problems: list[tuple[str, CallSite]] = []
        for up_id, down_id, site in self.pending_edges:
            missing = [tid for tid in (up_id, down_id) if tid not in self.task_dict]
            if missing:
                problems.append((f"dependency refers to unknown task {missing[0]!r}", site))
                continue
            self.task_dict[up_id].downstream_task_ids.add(down_id)
            self.task_dict[down_id].upstream_task_ids.add(up_id)
            self.edge_sites.setdefault((up_id, down_id), site)
        self.pending_edges.clear()
        return problems

    # -- context manager ------------------------------------------------------------------

    def __enter__(self) -> DAG:
        _context_stack.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _context_stack.pop()

    def __repr__(self) -> str:
        return f"<DAG {self.dag_id}>"


def _timezone_of(start_date: datetime | None) -> str:
    # Cron schedules follow the start date's named zone (so 06:00 stays 06:00 across DST);
    # a fixed offset or a naive date falls back to UTC.
    tz = start_date.tzinfo if start_date else None
    return tz.key if isinstance(tz, ZoneInfo) else "UTC"


class ParamRef:
    """A DAG param passed to a task by a ``@dag`` function; resolved when the task runs."""

    def __init__(self, name: str) -> None:
        self.name = name

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return context["params"][self.name]

    def __repr__(self) -> str:
        return f"ParamRef({self.name!r})"


@overload
def dag(func: Callable[P, Any], /) -> Callable[P, DAG]: ...
@overload
def dag(
    dag_id: str | None = None, /, **dag_kwargs: Any
) -> Callable[[Callable[P, Any]], Callable[P, DAG]]: ...
def dag(
    func_or_id: Callable[P, Any] | str | None = None, /, **dag_kwargs: Any
) -> Callable[P, DAG] | Callable[[Callable[P, Any]], Callable[P, DAG]]:
    """Turn a function into a DAG factory: calling it builds the DAG.

    The function's parameters become DAG params (their defaults the params' defaults);
    inside, each is a reference that tasks receive resolved when they run.
    """

    def decorate(func: Callable[P, Any], dag_id: str | None) -> Callable[P, DAG]:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def factory(*args: P.args, **kwargs: P.kwargs) -> DAG:
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            params = {**bound.arguments, **dict(dag_kwargs.get("params") or {})}
            options = {**dag_kwargs, "params": params}
            options.setdefault("description", inspect.getdoc(func))
            with DAG(dag_id or func.__name__, **options) as new_dag:
                refs = {name: ParamRef(name) for name in bound.arguments}
                func(**refs)  # type: ignore[call-arg, arg-type]
            return new_dag

        return factory

    if callable(func_or_id):
        return decorate(func_or_id, None)
    return lambda func: decorate(func, func_or_id)
