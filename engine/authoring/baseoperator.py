"""BaseOperator: one task's settings, its dependencies, and Airflow's ``default_args``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

from engine.authoring.arguments import unknown_argument
from engine.authoring.callsite import CallSite, user_call_site
from engine.authoring.dag import DAG, ID_PATTERN
from engine.authoring.dependencies import DependencyMixin
from engine.authoring.edges import EdgeModifier
from engine.authoring.setupteardown import SetupTeardownMixin, on_task_created
from engine.authoring.taskgroup import TaskGroup, placement
from engine.authoring.tasksettings import SETTING_NAMES, TASK_SETTINGS, SerializedSettingValues
from engine.authoring.triggers.base import BaseTrigger, TaskDeferralError, TaskDeferred
from engine.errors import DagDefinitionError

if TYPE_CHECKING:
    from engine.authoring.mapping import OperatorPartial
    from engine.authoring.taskflow import XComArg

InitT = TypeVar("InitT", bound=Callable[..., None])


def apply_default_args(init: InitT, *, settings: frozenset[str] = frozenset()) -> InitT:
    """Fill an operator's keyword arguments that the caller left out from ``default_args``.

    The defaults come from the DAG (``dag=`` or the enclosing ``with DAG``), then the task
    groups it is in (outer, then inner), then the operator's own ``default_args=``, as in
    Airflow; explicit arguments always win. The
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
        dag, group = placement(kwargs.get("dag"), kwargs.get("task_group"))
        own = dict(kwargs.pop("default_args", None) or {})
        defaults = {
            **(dag.default_args if dag else {}),
            **(group.default_args if group else {}),
            **own,
        }
        positional = signature.bind_partial(self, *args).arguments
        for name in names - kwargs.keys() - positional.keys():
            if name in defaults:
                kwargs[name] = defaults[name]
        init(self, *args, **kwargs)
        if own:  # checked by validation, once every operator class of the file exists
            self.own_default_args = tuple(own)

    return wrapper  # type: ignore[return-value]


class BaseOperator(DependencyMixin, SetupTeardownMixin, SerializedSettingValues):
    """A task: what to run (``execute``) and how (retries, priority, pool, trigger rule...)."""

    template_fields: ClassVar[Sequence[str]] = ()
    """Attributes rendered with Jinja2 before ``execute``."""

    template_ext: ClassVar[Sequence[str]] = ()
    """A templated string ending in one of these (``.sh``, ``.sql``) names a template file,
    found in the DAG file's folder or its ``template_searchpath``, and rendered."""

    template_fields_renderers: ClassVar[Mapping[str, str]] = {}
    """How the UI shows a rendered field: ``bash``, ``sql``, ``json``, ``yaml``, ``py``..."""

    own_default_args: tuple[str, ...] = ()
    """The keys of the task's own ``default_args=``."""

    run_conditions: tuple[Any, ...] = ()
    """``@task.run_if`` / ``@task.skip_if`` conditions (:mod:`engine.authoring.conditions`),
    checked before ``execute``."""

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
        task_group: TaskGroup | None = None,
        pre_execute: Callable[[Any], Any] | None = None,
        post_execute: Callable[[Any, Any], Any] | None = None,
        **settings: Any,
    ) -> None:
        """Take ``task_id`` and the settings of :data:`TASK_SETTINGS`; anything else is a
        problem that names it (see :mod:`engine.authoring.arguments`).

        Inside a task group (``task_group=`` or the enclosing ``with TaskGroup``) the task
        id is prefixed with the group's id unless the group says otherwise."""
        self.call_site: CallSite = user_call_site()
        self.problems: list[str] = [
            unknown_argument(name, of=type(self).__name__)
            for name in sorted(settings.keys() - SETTING_NAMES)
        ]
        owner_dag, group = placement(dag, task_group)
        self.task_group: TaskGroup | None = None
        self.task_id = group.child_id(task_id) if group and isinstance(task_id, str) else task_id
        self._check_task_id()
        for setting in TASK_SETTINGS:
            value = settings.get(setting.name, setting.default)
            setattr(self, setting.name, setting.kind.accept(setting.name, value, self.problems))
        self.depends_on_past = self.depends_on_past or self.wait_for_downstream  # as Airflow
        self._pre_execute_hook = _optional_callable("pre_execute", pre_execute, self.problems)
        self._post_execute_hook = _optional_callable("post_execute", post_execute, self.problems)
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self.dag: DAG | None = None
        if owner_dag is not None:
            owner_dag.add_task(self, group)
        on_task_created(self, settings)

    # Set from TASK_SETTINGS by __init__: the serialized ones are typed by the base class.
    on_success_callback: list[Callable[..., Any]]
    on_failure_callback: list[Callable[..., Any]]
    on_retry_callback: list[Callable[..., Any]]
    on_execute_callback: list[Callable[..., Any]]
    on_skipped_callback: list[Callable[..., Any]]

    def _check_task_id(self) -> None:
        if not isinstance(self.task_id, str) or not ID_PATTERN.fullmatch(self.task_id):
            self.problems.append(
                f"invalid task_id {self.task_id!r}: use 1-250 letters, digits, '_', '.' or '-'"
            )

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """Fix this operator's arguments (``task_id`` among them) for ``.expand(...)``."""
        from engine.authoring.mapping import OperatorPartial

        return OperatorPartial(cls, kwargs)

    # -- dependencies ---------------------------------------------------------------------

    def set_downstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        """Make ``other`` (a task, an XCom result, a task group, a task id, or a list of
        them) run after this; ``edge_modifier`` (a ``Label``) labels the edges."""
        link_nodes(self, other, edge_modifier)

    def set_upstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        """Make ``other`` (a task, an XCom result, a task group, a task id, or a list of
        them) run before this; ``edge_modifier`` (a ``Label``) labels the edges."""
        link_nodes(other, self, edge_modifier)

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

    def pre_execute(self, context: Mapping[str, Any]) -> None:
        """Called right before :meth:`execute` (after ``on_execute_callback``), in the try:
        what it raises is the try's outcome. Runs the ``pre_execute=`` hook, as Airflow's."""
        if self._pre_execute_hook is not None:
            self._pre_execute_hook(context)

    def post_execute(self, context: Mapping[str, Any], result: Any = None) -> None:
        """Called right after :meth:`execute` with its result, in the try (it may still set
        ``outlet_events``). Runs the ``post_execute=`` hook, as Airflow's."""
        if self._post_execute_hook is not None:
            self._post_execute_hook(context, result)

    def defer(
        self,
        *,
        trigger: BaseTrigger,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | None = None,
    ) -> NoReturn:
        """End this try as ``deferred`` until ``trigger`` fires; then a worker calls
        ``method_name(context, event=<payload>, **kwargs)``. Past ``timeout``, the task
        fails with :class:`TaskDeferralTimeout` (retry rules apply)."""
        raise TaskDeferred(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Mapping[str, Any]
    ) -> Any:
        """Continue a deferred task where it asked to (Airflow's name): call its method."""
        method = getattr(self, next_method, None)
        if not callable(method):
            raise TaskDeferralError(
                f"task {self.task_id!r} deferred to {next_method!r}, which it does not have"
            )
        return method(context, **(next_kwargs or {}))

    def render_template(
        self, content: Any, context: Mapping[str, Any], jinja_env: Any = None
    ) -> Any:
        """``content`` rendered as this task's fields are (its DAG's macros, filters and
        search path; a string ending in one of ``template_ext`` is a file), as Airflow's."""
        from engine.authoring.templating import environment_for, render_value

        return render_value(
            content,
            context,
            where=f"a template of task {self.task_id!r}",
            environment=jinja_env or environment_for(self.dag),
            template_ext=self.template_ext,
        )

    def serialize_fields(self) -> dict[str, Any]:
        """Operator-specific fields shown in the UI and API (JSON-safe by serialization):
        here the template fields; a subclass adds its other settings to ``super()``'s."""
        return {name: getattr(self, name) for name in self.template_fields}

    def __repr__(self) -> str:
        return f"<{self.operator_name} {self.task_id}>"


Node = BaseOperator | str | TaskGroup | EdgeModifier


def link_nodes(upstream: Any, downstream: Any, modifier: EdgeModifier | None = None) -> None:
    """Make every node of ``downstream`` run after every node of ``upstream``.

    A node is a task, an XCom result, a task id, a task group (its leaves upstream, its
    roots downstream) or an edge modifier (a ``Label``, which links once it knows both
    sides); ``modifier`` labels each edge made.
    """
    for up in _flatten(upstream):
        for down in _flatten(downstream):
            if isinstance(down, EdgeModifier):
                down.add_upstream(up)
            elif isinstance(up, EdgeModifier):
                up.add_downstream(down)
            elif isinstance(up, TaskGroup) or isinstance(down, TaskGroup):
                _link_groups(up, down, modifier)
            else:
                _link(up, down)
                _label(up, down, modifier)


def _link_groups(
    up: BaseOperator | str | TaskGroup,
    down: BaseOperator | str | TaskGroup,
    modifier: EdgeModifier | None,
) -> None:
    """Link the leaves of an upstream group and the roots of a downstream group; an empty
    group passes on what was linked to it (``a >> empty >> b`` is ``a >> b``)."""
    ups = _group_side(up, leaves=True)
    downs = _group_side(down, leaves=False)
    if isinstance(down, TaskGroup) and not downs:
        down.upstream_tasks += [u for u in ups if isinstance(u, BaseOperator)]
    if isinstance(up, TaskGroup) and not ups:
        up.downstream_tasks += [d for d in downs if isinstance(d, BaseOperator)]
    for u in ups:
        for d in downs:
            _link(u, d)
            _label(u, d, modifier)
    _label(up, down, modifier)


def _group_side(node: BaseOperator | str | TaskGroup, *, leaves: bool) -> list[BaseOperator | str]:
    if not isinstance(node, TaskGroup):
        return [node]
    tasks: list[BaseOperator] = node.leaves if leaves else node.roots
    if tasks:
        return list(tasks)
    return list(node.upstream_tasks if leaves else node.downstream_tasks)


def _label(
    up: BaseOperator | str | TaskGroup,
    down: BaseOperator | str | TaskGroup,
    modifier: EdgeModifier | None,
) -> None:
    """Record ``modifier``'s label on the edge; a group's side is its join node, as in
    Airflow (``g.upstream_join_id`` when entering ``g``, ``g.downstream_join_id`` leaving)."""
    if modifier is None or isinstance(up, str) or isinstance(down, str):
        return
    dag = up.dag or down.dag
    if dag is None:
        return
    up_id = up.downstream_join_id if isinstance(up, TaskGroup) else up.task_id
    down_id = down.upstream_join_id if isinstance(down, TaskGroup) else down.task_id
    dag.set_edge_info(up_id, down_id, modifier.edge_info)


def _flatten(value: Any) -> Iterable[Node]:
    from engine.authoring.taskflow import XComArg

    if isinstance(value, BaseOperator | str | TaskGroup | EdgeModifier):
        yield value
    elif isinstance(value, XComArg):
        for ref in value.references():
            yield ref.operator
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _flatten(item)
    else:
        raise DagDefinitionError(
            f"cannot set a dependency on {value!r}: expected a task, a task group, "
            "a task id or a list of them"
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
    dag, edge = up.dag, (up.task_id, down.task_id)
    if dag is not None and edge not in dag.edge_sites:
        dag.edge_sites[edge] = user_call_site()


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


def check_callable(name: str, value: Any, problems: list[str], *, optional: bool = False) -> bool:
    """Whether argument ``name``'s ``value`` is callable (or ``None`` when ``optional``);
    when it is not, says so in an operator's ``problems``."""
    if callable(value) or (optional and value is None):
        return True
    problems.append(f"{name} must be callable, got {value!r}")
    return False


def _optional_callable(name: str, value: Any, problems: list[str]) -> Any:
    return value if check_callable(name, value, problems, optional=True) else None
