"""Task groups: ``with TaskGroup("g"):`` and ``@task_group``, as in Airflow 3.

A group names its tasks ``group_id.task_id`` (unless ``prefix_group_id=False``), passes
its ``default_args`` to them (over the DAG's, under the operator's own), and stands for
its tasks in dependencies: ``a >> group`` links ``a`` to the group's roots, ``group >> b``
links the group's leaves to ``b``. Groups shape the UI only; the scheduler sees the
task-to-task edges they produce.

Every DAG has a root group (``dag.task_group``, id ``None``); the groups of a DAG share
one namespace with its task ids.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from engine.authoring.callsite import CallSite, user_call_site
from engine.authoring.dependencies import DependencyMixin
from engine.errors import DagDefinitionError

if TYPE_CHECKING:
    from engine.authoring.baseoperator import BaseOperator
    from engine.authoring.dag import DAG

P = ParamSpec("P")
R = TypeVar("R")

GROUP_ID_PATTERN = re.compile(r"[\w-]+")
GROUP_ID_MAX = 200
_SUFFIX = re.compile(r"^(.*)__(\d+)$")

_group_stack: list[TaskGroup] = []


def current_task_group(dag: DAG | None) -> TaskGroup | None:
    """The group tasks of ``dag`` created now join: the innermost ``with TaskGroup`` of
    that DAG, else its root group (``None`` without a DAG)."""
    for group in reversed(_group_stack):
        if group.dag is dag:
            return group
    return dag.task_group if dag is not None else None


def placement(
    dag: DAG | None = None, task_group: TaskGroup | None = None
) -> tuple[DAG | None, TaskGroup | None]:
    """The DAG and group a task created now joins: those given, else the innermost
    ``with TaskGroup`` (and its DAG, even outside ``with DAG``), else the current DAG."""
    from engine.authoring.dag import current_dag

    hint = task_group or (_group_stack[-1] if _group_stack else None)
    owner = dag or (hint.dag if hint else None) or current_dag()
    return owner, task_group or current_task_group(owner)


def check_group_id(group_id: object) -> str:
    """``group_id`` if it is a valid group id (no dots: they join ids), else raise."""
    if not isinstance(group_id, str):
        raise TypeError(f"The key has to be a string and is {type(group_id)}:{group_id}")
    if len(group_id) > GROUP_ID_MAX:
        raise ValueError(
            f"The key has to be less than {GROUP_ID_MAX} characters, not {len(group_id)}"
        )
    if not GROUP_ID_PATTERN.fullmatch(group_id):
        raise ValueError(
            f"The key {group_id!r} has to be made of alphanumeric characters, dashes, "
            "and underscores exclusively"
        )
    return group_id


class TaskGroup(DependencyMixin):
    """A named, nestable set of tasks, drawn as one box in the graph and one row in the grid.

    ::

        with TaskGroup("extract", tooltip="Pull the sources") as extract:
            a = EmptyOperator(task_id="a")  # task id "extract.a"
        start >> extract >> end
    """

    is_mapped = False
    """Whether the group is expanded (:mod:`engine.authoring.mappedgroup`)."""

    def __init__(
        self,
        group_id: str | None,
        *,
        prefix_group_id: bool = True,
        parent_group: TaskGroup | None = None,
        dag: DAG | None = None,
        default_args: dict[str, Any] | None = None,
        tooltip: str = "",
        ui_color: str = "CornflowerBlue",
        ui_fgcolor: str = "#000",
        group_display_name: str = "",
        add_suffix_on_collision: bool = False,
    ) -> None:
        from engine.authoring.dag import current_dag

        self.call_site: CallSite = user_call_site()
        self.prefix_group_id = bool(prefix_group_id)
        self.tooltip = tooltip or ""
        self.ui_color = ui_color
        self.ui_fgcolor = ui_fgcolor
        self.children: dict[str, BaseOperator | TaskGroup] = {}
        """Tasks and groups directly in this group, by their full ids."""
        self.upstream_tasks: list[BaseOperator] = []
        self.downstream_tasks: list[BaseOperator] = []
        """Tasks linked to this group while it had no tasks (an empty group passes them on)."""
        if group_id is None:  # the root group of a DAG, made by the DAG itself
            assert dag is not None
            self.dag, self.parent_group, self._label = dag, None, None
            self.group_id: str | None = None
            self.default_args: dict[str, Any] = {}
            self.own_default_args: tuple[str, ...] = ()
            self.display_name = ""
            return
        owner = dag or (parent_group.dag if parent_group else None) or current_dag()
        if owner is None:
            raise DagDefinitionError("TaskGroup can only be used inside a dag")
        self.dag = owner
        parent = parent_group or current_task_group(owner)
        assert parent is not None
        self.parent_group = parent
        label = check_group_id(group_id)
        full_id = parent.child_id(label)
        if full_id in owner.group_ids or owner.has_task(full_id):
            if not add_suffix_on_collision:
                raise DagDefinitionError(f"group_id {full_id!r} has already been added to the DAG")
            label = _suffixed(label, parent, owner)
            full_id = parent.child_id(label)
        self._label = label
        self.group_id = full_id
        self.display_name = group_display_name
        self.default_args = {**parent.default_args, **(default_args or {})}
        self.own_default_args = tuple(default_args or {})
        """The keys given to this group (checked by validation like a task's own)."""
        owner.group_ids.add(full_id)
        parent.children[full_id] = self

    # -- ids --------------------------------------------------------------------------

    @property
    def label(self) -> str | None:
        """The group's own id, without its parents' prefix (its display name if given)."""
        return self.display_name or self._label

    @property
    def is_root(self) -> bool:
        return self.group_id is None

    def child_id(self, label: str) -> str:
        """The full id of a child called ``label``: prefixed by this group's id if it prefixes."""
        if self.prefix_group_id and self.group_id is not None:
            return f"{self.group_id}.{label}"
        return label

    @property
    def upstream_join_id(self) -> str:
        return f"{self.group_id}.upstream_join_id"

    @property
    def downstream_join_id(self) -> str:
        return f"{self.group_id}.downstream_join_id"

    def __getitem__(self, label: str) -> BaseOperator | TaskGroup:
        """The child task or group called ``label`` (its id without this group's prefix)."""
        child = self.children.get(self.child_id(label))
        if child is None:
            raise KeyError(f"Task {label!r} not found")
        return child

    # -- members ----------------------------------------------------------------------

    def add(self, task: BaseOperator) -> None:
        """Make ``task`` a direct child of this group."""
        current = getattr(task, "task_group", None)
        if current is not None and current is not self and task.task_id in current.children:
            raise DagDefinitionError(
                f"cannot add {task.task_id!r} to {self.group_id!r} "
                f"(already in group {current.group_id!r})"
            )
        self.children[task.task_id] = task
        task.task_group = self

    def iter_tasks(self) -> Iterator[BaseOperator]:
        """Every task in this group and its subgroups."""
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child.iter_tasks()
            else:
                yield child

    def get_task_group_dict(self) -> dict[str, TaskGroup]:
        """This group's subgroups at any depth, by full id."""
        found: dict[str, TaskGroup] = {}
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                assert child.group_id is not None
                found[child.group_id] = child
                found.update(child.get_task_group_dict())
        return found

    def closest_mapped_group(self) -> TaskGroup | None:
        """This group if it is mapped, else its nearest mapped parent; None if neither."""
        group: TaskGroup | None = self
        while group is not None and not group.is_mapped:
            group = group.parent_group
        return group

    def has_task(self, task: BaseOperator) -> bool:
        return any(member is task for member in self.iter_tasks())

    @property
    def roots(self) -> list[BaseOperator]:
        """Tasks of the group with no upstream task inside it."""
        ids = {t.task_id for t in self.iter_tasks()}
        return [t for t in self.iter_tasks() if not t.upstream_task_ids & ids]

    @property
    def leaves(self) -> list[BaseOperator]:
        """Tasks of the group with no downstream task inside it; a teardown among them
        stands aside for the work it follows (as in Airflow, so that ``group >> next``
        does not wait for the group's cleanup)."""
        tasks = {t.task_id: t for t in self.iter_tasks()}
        found: dict[str, BaseOperator] = {}
        for task in tasks.values():
            if task.downstream_task_ids & tasks.keys():
                continue
            if task.is_teardown:
                found.update((t.task_id, t) for t in _work_before(task, tasks))
            else:
                found[task.task_id] = task
        return list(found.values())

    def get_roots(self) -> list[BaseOperator]:
        return self.roots

    def get_leaves(self) -> list[BaseOperator]:
        return self.leaves

    # -- dependencies -----------------------------------------------------------------

    def set_downstream(self, other: Any, edge_modifier: Any = None) -> None:
        """Make ``other`` run after this group's leaves."""
        from engine.authoring.baseoperator import link_nodes

        link_nodes(self, other, edge_modifier)

    def set_upstream(self, other: Any, edge_modifier: Any = None) -> None:
        """Make this group's roots run after ``other``."""
        from engine.authoring.baseoperator import link_nodes

        link_nodes(other, self, edge_modifier)

    # -- context manager --------------------------------------------------------------

    def __enter__(self) -> TaskGroup:
        _group_stack.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _group_stack.pop()

    def __repr__(self) -> str:
        return f"<TaskGroup {self.group_id or '(root)'}>"


def _work_before(teardown: BaseOperator, tasks: dict[str, BaseOperator]) -> list[BaseOperator]:
    """The nearest tasks of the group upstream of ``teardown`` that are neither setups nor
    teardowns (walking through teardowns) and lead to no other work in the group."""
    found: list[BaseOperator] = []
    todo, seen = [teardown], {teardown.task_id}
    while todo:
        for up_id in sorted(todo.pop().upstream_task_ids & tasks.keys() - seen):
            seen.add(up_id)
            up = tasks[up_id]
            if up.is_teardown:
                todo.append(up)
            elif not up.is_setup and all(
                tasks[d].is_teardown for d in up.downstream_task_ids & tasks.keys()
            ):
                found.append(up)
    return found


def _suffixed(label: str, parent: TaskGroup, dag: DAG) -> str:
    """Airflow's collision rule: ``g`` is taken, so ``g__1``, then ``g__2``, ..."""
    match = _SUFFIX.match(label)
    base = match.group(1) if match else label
    n = 1
    while parent.child_id(f"{base}__{n}") in dag.group_ids or dag.has_task(
        parent.child_id(f"{base}__{n}")
    ):
        n += 1
    return f"{base}__{n}"


class _TaskGroupFunction(Generic[P, R]):
    """What ``@task_group`` returns: each call builds a new group around the function's body."""

    def __init__(
        self,
        func: Callable[P, R],
        options: dict[str, Any],
        partial_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.function = func
        self.options = options
        self.partial_kwargs = partial_kwargs or {}
        """Arguments fixed by ``.partial(...)`` for a mapped group."""
        functools.update_wrapper(self, func)

    def override(self, **options: Any) -> _TaskGroupFunction[P, R]:
        """The same group function with other group settings (``group_id``, ``tooltip``...)."""
        return _TaskGroupFunction(self.function, {**self.options, **options}, self.partial_kwargs)

    def partial(self, **kwargs: Any) -> _TaskGroupFunction[P, R]:
        """Fix arguments passed as they are to every instance of the mapped group."""
        from engine.authoring.mappedgroup import check_partial

        check_partial(self.function, self.partial_kwargs, kwargs)
        return _TaskGroupFunction(self.function, self.options, {**self.partial_kwargs, **kwargs})

    def expand(self, *args: Any, **mapped: Any) -> Any:
        """A mapped group: its tasks have one instance per element (per combination, for
        several arguments); returns what the function returned, or the group."""
        from engine.authoring.mappedgroup import expand_group

        return expand_group(self, args, mapped)

    def expand_kwargs(self, value: Any) -> Any:
        """A mapped group with one instance per dict of arguments in ``value``."""
        from engine.authoring.mappedgroup import expand_group_kwargs

        return expand_group_kwargs(self, value)

    def group_arguments(self) -> tuple[str, dict[str, Any]]:
        """The id and settings of a group built by a call: the function's name and
        docstring unless overridden, suffixed (``g__1``) when called again."""
        options = dict(self.options)
        group_id = options.pop("group_id", None) or self.function.__name__
        options.setdefault("tooltip", inspect.getdoc(self.function) or "")
        options["add_suffix_on_collision"] = True
        return group_id, options

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R | TaskGroup:
        """Build the group; return what the function returned, or the group when ``None``."""
        group_id, options = self.group_arguments()
        with TaskGroup(group_id, **options) as group:
            result = self.function(*args, **kwargs)
        return group if result is None else result


def task_group(
    func: Callable[P, R] | str | None = None, /, **options: Any
) -> _TaskGroupFunction[P, R] | Callable[[Callable[P, R]], _TaskGroupFunction[P, R]]:
    """``@task_group``, ``@task_group("id")`` or ``@task_group(group_id=..., tooltip=...)``
    (the settings of :class:`TaskGroup`)."""
    if isinstance(func, str):
        options["group_id"], func = func, None
    if func is not None:
        return _TaskGroupFunction(func, options)
    return lambda f: _TaskGroupFunction(f, options)
