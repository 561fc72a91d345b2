"""BaseOperator: one task's settings, its dependencies, and Airflow's ``default_args``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from engine.authoring.callsite import CallSite, user_call_site
from engine.authoring.dag import DAG, ID_PATTERN, as_callbacks, current_dag
from engine.authoring.trigger_rules import TriggerRule
from engine.errors import DagDefinitionError
from engine.priority import DEFAULT_POOL, PRIORITY_CLASSES

if TYPE_CHECKING:
    from engine.authoring.taskflow import XComArg

InitT = TypeVar("InitT", bound=Callable[..., None])


def apply_default_args(init: InitT) -> InitT:
    """Fill an operator's keyword arguments that the caller left out from ``default_args``.

    The defaults come from the DAG (``dag=`` or the enclosing ``with DAG``) merged with the
    operator's own ``default_args=``, as in Airflow; explicit arguments always win.
    """
    signature = inspect.signature(init)
    names = {
        name
        for name, p in signature.parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name not in {"self", "task_id"}
    }

    @functools.wraps(init)
    def wrapper(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
        dag = kwargs.get("dag") or current_dag()
        defaults = {**(dag.default_args if dag else {}), **kwargs.pop("default_args", {})}
        positional = signature.bind_partial(self, *args).arguments
        for name in names - kwargs.keys() - positional.keys():
            if name in defaults:
                kwargs[name] = defaults[name]
        init(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _seconds(value: timedelta | float | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    raise TypeError(f"expected a timedelta or seconds, got {type(value).__name__}")


class BaseOperator:
    """A task: what to run (``execute``) and how (retries, priority, pool, trigger rule...)."""

    template_fields: ClassVar[tuple[str, ...]] = ()
    """Attributes rendered with Jinja2 before ``execute``."""

    is_branch: ClassVar[bool] = False
    """A branching task returns the task id(s) to follow; its other direct downstream
    tasks are skipped."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = apply_default_args(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(
        self,
        task_id: str,
        *,
        dag: DAG | None = None,
        owner: str = "loom",
        retries: int = 0,
        retry_delay: timedelta | float = timedelta(minutes=5),
        retry_exponential_backoff: bool = False,
        max_retry_delay: timedelta | float | None = None,
        priority: str = "default",
        priority_weight: int = 1,
        pool: str = DEFAULT_POOL,
        pool_slots: int = 1,
        execution_timeout: timedelta | float | None = None,
        trigger_rule: str | TriggerRule = TriggerRule.ALL_SUCCESS,
        on_success_callback: Any = None,
        on_failure_callback: Any = None,
        on_retry_callback: Any = None,
        email: str | Iterable[str] | None = None,
        email_on_failure: bool = True,
        email_on_retry: bool = True,
        email_on_success: bool = False,
        notify: str | Iterable[str] | None = None,
        notify_on_success: bool = False,
        deadline: timedelta | float | None = None,
        doc: str | None = None,
    ) -> None:
        self.call_site: CallSite = user_call_site()
        self.problems: list[str] = []
        self.task_id = task_id
        self.owner = owner
        self.retries = retries
        self.retry_delay = self._duration("retry_delay", retry_delay) or timedelta(0)
        self.retry_exponential_backoff = bool(retry_exponential_backoff)
        self.max_retry_delay = self._duration("max_retry_delay", max_retry_delay)
        self.priority = priority
        self.priority_weight = priority_weight
        self.pool = pool
        self.pool_slots = pool_slots
        self.execution_timeout = self._duration("execution_timeout", execution_timeout)
        self.trigger_rule = self._trigger_rule(trigger_rule)
        self.on_success_callback = as_callbacks(on_success_callback)
        self.on_failure_callback = as_callbacks(on_failure_callback)
        self.on_retry_callback = as_callbacks(on_retry_callback)
        self.email = _names(email)
        self.email_on_failure = bool(email_on_failure)
        self.email_on_retry = bool(email_on_retry)
        self.email_on_success = bool(email_on_success)
        self.notify = _names(notify)
        """Webhook targets (names under ``webhooks`` in loom.yaml) told about this task."""
        self.notify_on_success = bool(notify_on_success)
        self.deadline = self._duration("deadline", deadline)
        """Alert when the task has not finished this long after its run started."""
        self.doc = doc
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self._check_settings()
        self.dag: DAG | None = None
        owner_dag = dag or current_dag()
        if owner_dag is not None:
            owner_dag.add_task(self)

    # -- settings checks: recorded as problems, reported by validation ----------------------

    def _duration(self, name: str, value: Any) -> timedelta | None:
        try:
            duration = _seconds(value)
        except TypeError as exc:
            self.problems.append(f"{name}: {exc}")
            return None
        if duration is not None and duration < timedelta(0):
            self.problems.append(f"{name} must not be negative, got {duration}")
        return duration

    def _trigger_rule(self, value: str | TriggerRule) -> TriggerRule:
        try:
            return TriggerRule(value)
        except ValueError:
            self.problems.append(
                f"unknown trigger_rule {value!r}; expected one of "
                + ", ".join(rule.value for rule in TriggerRule)
            )
            return TriggerRule.ALL_SUCCESS

    def _check_settings(self) -> None:
        if not isinstance(self.task_id, str) or not ID_PATTERN.fullmatch(self.task_id):
            self.problems.append(
                f"invalid task_id {self.task_id!r}: use 1-250 letters, digits, '_', '.' or '-'"
            )
        if not _is_int(self.retries) or self.retries < 0:
            self.problems.append(f"retries must be a non-negative integer, got {self.retries!r}")
        if self.priority not in PRIORITY_CLASSES:
            self.problems.append(
                f"priority must be one of {', '.join(PRIORITY_CLASSES)}, got {self.priority!r}"
            )
        if not _is_int(self.priority_weight):
            self.problems.append(
                f"priority_weight must be an integer, got {self.priority_weight!r}"
            )
        if not isinstance(self.pool, str) or not self.pool:
            self.problems.append(f"pool must be a non-empty string, got {self.pool!r}")
        if not _is_int(self.pool_slots) or self.pool_slots < 1:
            self.problems.append(f"pool_slots must be a positive integer, got {self.pool_slots!r}")
        if self.execution_timeout is not None and self.execution_timeout == timedelta(0):
            self.problems.append("execution_timeout must be positive")
        if self.deadline is not None and self.deadline == timedelta(0):
            self.problems.append("deadline must be positive")
        for name in ("email", "notify"):
            if not all(isinstance(item, str) and item for item in getattr(self, name)):
                self.problems.append(f"{name} must be a string or a list of non-empty strings")
        for name in ("on_success_callback", "on_failure_callback", "on_retry_callback"):
            if not all(callable(cb) for cb in getattr(self, name)):
                self.problems.append(f"{name} must be callable or a list of callables")

    # -- dependencies ---------------------------------------------------------------------

    def set_downstream(self, other: Any) -> None:
        """Make ``other`` (a task, an XCom result, a task id, or a list of them) run after this."""
        for target in _flatten(other):
            _link(self, target)

    def set_upstream(self, other: Any) -> None:
        """Make ``other`` (a task, an XCom result, a task id, or a list of them) run before this."""
        for source in _flatten(other):
            _link(source, self)

    def __rshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> BaseOperator:
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> BaseOperator:
        self.set_downstream(other)
        return self

    @property
    def output(self) -> XComArg:
        """This task's return value, for passing to another task (creates the dependency)."""
        from engine.authoring.taskflow import XComArg

        return XComArg(self)

    # -- running --------------------------------------------------------------------------

    @property
    def operator_name(self) -> str:
        return type(self).__name__

    def execute(self, context: Mapping[str, Any]) -> Any:
        """Do the task's work; the return value becomes its XCom. Subclasses override."""
        raise NotImplementedError(f"{self.operator_name} does not implement execute()")

    def serialize_fields(self) -> dict[str, Any]:
        """Operator-specific fields shown in the UI and API (JSON-safe by serialization)."""
        return {name: getattr(self, name) for name in self.template_fields}

    def __repr__(self) -> str:
        return f"<{self.operator_name} {self.task_id}>"


def _names(value: str | Iterable[str] | None) -> list[str]:
    """One name or several as a list (``email="ops@x"`` and ``email=["a@x", "b@x"]``);
    anything else becomes a one-item list that validation then reports."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]  # type: ignore[list-item]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flatten(value: Any) -> Iterable[BaseOperator | str]:
    from engine.authoring.taskflow import XComArg

    if isinstance(value, BaseOperator | str):
        yield value
    elif isinstance(value, XComArg):
        yield value.operator
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _flatten(item)
    else:
        raise DagDefinitionError(
            f"cannot set a dependency on {value!r}: expected a task, a task id or a list of them"
        )


def _link(up: BaseOperator | str, down: BaseOperator | str) -> None:
    if isinstance(up, str) and isinstance(down, str):
        raise DagDefinitionError(f"cannot link two task ids ({up!r} >> {down!r}) without a task")
    if isinstance(up, str) or isinstance(down, str):
        task = down if isinstance(up, str) else up
        assert isinstance(task, BaseOperator)
        if task.dag is None:
            raise DagDefinitionError(f"task {task.task_id!r} has no DAG to look up {up!r}")
        up_id = up if isinstance(up, str) else up.task_id
        down_id = down if isinstance(down, str) else down.task_id
        task.dag.pending_edges.append((up_id, down_id, user_call_site()))
        return
    _adopt(up, down)
    if up.dag is not down.dag:
        assert down.dag is not None
        assert up.dag is not None
        down.dag.add_problem(
            f"task {down.task_id!r} cannot depend on task {up.task_id!r} "
            f"of another DAG {up.dag.dag_id!r}",
            user_call_site(),
        )
        return
    up.downstream_task_ids.add(down.task_id)
    down.upstream_task_ids.add(up.task_id)


def _adopt(up: BaseOperator, down: BaseOperator) -> None:
    """A task created outside any DAG joins the DAG of the task it is linked to."""
    if up.dag is None and down.dag is not None:
        down.dag.add_task(up)
    elif down.dag is None and up.dag is not None:
        up.dag.add_task(down)
    elif up.dag is None and down.dag is None:
        raise DagDefinitionError(
            f"cannot link {up.task_id!r} and {down.task_id!r}: neither belongs to a DAG"
        )


BaseOperator.__init__ = apply_default_args(BaseOperator.__init__)  # type: ignore[method-assign]
