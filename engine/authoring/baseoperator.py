"""BaseOperator: one task's settings, its dependencies, and Airflow's ``default_args``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from engine.authoring.arguments import unknown_argument
from engine.authoring.callsite import CallSite, user_call_site
from engine.authoring.dag import DAG, ID_PATTERN, current_dag
from engine.authoring.params import Param
from engine.authoring.setupteardown import SetupTeardownMixin, on_task_created
from engine.authoring.tasksettings import SETTING_NAMES, TASK_SETTINGS
from engine.authoring.trigger_rules import TriggerRule
from engine.errors import DagDefinitionError

if TYPE_CHECKING:
    from engine.authoring.taskflow import XComArg

InitT = TypeVar("InitT", bound=Callable[..., None])


def apply_default_args(init: InitT, *, settings: frozenset[str] = frozenset()) -> InitT:
    """Fill an operator's keyword arguments that the caller left out from ``default_args``.

    The defaults come from the DAG (``dag=`` or the enclosing ``with DAG``) merged with the
    operator's own ``default_args=``, as in Airflow; explicit arguments always win. The
    names filled are ``init``'s parameters and ``settings`` (those it takes as ``**``).
    """
    signature = inspect.signature(init)
    names = settings | {
        name
        for name, p in signature.parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name not in {"self", "task_id"}
    }

    @functools.wraps(init)
    def wrapper(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
        dag = kwargs.get("dag") or current_dag()
        own = dict(kwargs.pop("default_args", None) or {})
        defaults = {**(dag.default_args if dag else {}), **own}
        positional = signature.bind_partial(self, *args).arguments
        for name in names - kwargs.keys() - positional.keys():
            if name in defaults:
                kwargs[name] = defaults[name]
        init(self, *args, **kwargs)
        if own:  # checked by validation, once every operator class of the file exists
            self.own_default_args = tuple(own)

    return wrapper  # type: ignore[return-value]


class BaseOperator(SetupTeardownMixin):
    """A task: what to run (``execute``) and how (retries, priority, pool, trigger rule...)."""

    template_fields: ClassVar[tuple[str, ...]] = ()
    """Attributes rendered with Jinja2 before ``execute``."""

    own_default_args: tuple[str, ...] = ()
    """The keys of the task's own ``default_args=``."""

    is_branch: ClassVar[bool] = False
    """A branching task returns the task id(s) to follow; its other direct downstream
    tasks are skipped."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = apply_default_args(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(self, task_id: str, *, dag: DAG | None = None, **settings: Any) -> None:
        """Take ``task_id`` and the settings of :data:`TASK_SETTINGS`; anything else is a
        problem that names it (see :mod:`engine.authoring.arguments`)."""
        self.call_site: CallSite = user_call_site()
        self.problems: list[str] = [
            unknown_argument(name, of=type(self).__name__)
            for name in sorted(settings.keys() - SETTING_NAMES)
        ]
        self.task_id = task_id
        self._check_task_id()
        for setting in TASK_SETTINGS:
            value = settings.get(setting.name, setting.default)
            setattr(self, setting.name, setting.kind.accept(setting.name, value, self.problems))
        self.depends_on_past = self.depends_on_past or self.wait_for_downstream  # as Airflow
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self.dag: DAG | None = None
        owner_dag = dag or current_dag()
        if owner_dag is not None:
            owner_dag.add_task(self)
        on_task_created(self, settings)

    # Set from TASK_SETTINGS by __init__; declared for type checkers.
    owner: str
    retries: int
    retry_delay: timedelta
    retry_exponential_backoff: bool
    max_retry_delay: timedelta | None
    priority: str
    priority_weight: int
    pool: str
    pool_slots: int
    execution_timeout: timedelta | None
    trigger_rule: TriggerRule
    on_success_callback: list[Callable[..., Any]]
    on_failure_callback: list[Callable[..., Any]]
    on_retry_callback: list[Callable[..., Any]]
    email: list[str]
    email_on_failure: bool
    email_on_retry: bool
    email_on_success: bool
    notify: list[str]
    notify_on_success: bool
    deadline: timedelta | None
    doc: str | None
    is_setup: bool
    is_teardown: bool
    on_failure_fail_dagrun: bool
    doc_md: str | None
    doc_rst: str | None
    doc_json: str | None
    doc_yaml: str | None
    task_display_name: str | None
    do_xcom_push: bool
    multiple_outputs: bool
    params: dict[str, Param]
    weight_rule: str
    queue: str | None
    max_active_tis_per_dag: int | None
    max_active_tis_per_dagrun: int | None
    depends_on_past: bool
    wait_for_downstream: bool
    ignore_first_depends_on_past: bool

    def _check_task_id(self) -> None:
        if not isinstance(self.task_id, str) or not ID_PATTERN.fullmatch(self.task_id):
            self.problems.append(
                f"invalid task_id {self.task_id!r}: use 1-250 letters, digits, '_', '.' or '-'"
            )

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

    def _marked_task(self) -> BaseOperator:
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


BaseOperator.__init__ = apply_default_args(  # type: ignore[method-assign]
    BaseOperator.__init__, settings=SETTING_NAMES
)
