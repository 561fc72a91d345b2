"""Mapped task groups: a ``@task_group`` function expanded with ``.expand(...)``,
``.partial(...).expand(...)`` or ``.expand_kwargs(...)``, as in Airflow 3.

The function runs once, when the DAG file is parsed, with a :class:`MappedArgument` in
place of each expanded parameter (partial arguments are passed as they are). Every task
it creates is mapped with the group: all of them have the group's number of instances,
and instance ``i`` of a task reads element ``i`` where it uses a placeholder, and the
value of instance ``i`` where it uses the result of another task of the group. Readiness
is per map index too ("depth-first": ``g.b[1]`` waits for ``g.a[1]`` only).

The expansion is serialized once, on the group; each task's ``mapped`` spec names its
group (see :mod:`engine.authoring.expansion`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.authoring.callsite import user_call_site
from engine.authoring.mapping import (
    ExpandInput,
    OperatorPartial,
    _check_expand_call,
    _check_mapped_value,
)
from engine.authoring.taskgroup import TaskGroup
from engine.authoring.trigger_rules import TriggerRule

if TYPE_CHECKING:
    from engine.authoring.taskgroup import _TaskGroupFunction


class MappedArgument:
    """A parameter of a mapped group's function: the element of the instance that reads
    it, known only when a task of the group runs (so ``if x:`` in the function body
    tests the placeholder, not the value, as in Airflow)."""

    def __init__(self, group: MappedTaskGroup, name: str, path: tuple[Any, ...] = ()) -> None:
        self.group = group
        self.name = name
        self.path = path

    def __getitem__(self, item: Any) -> MappedArgument:
        return MappedArgument(self.group, self.name, (*self.path, item))

    def resolve(self, context: Mapping[str, Any]) -> Any:
        map_index = context["ti"].map_index
        if map_index < 0:
            raise RuntimeError(
                f"argument {self.name!r} of mapped task group {self.group.group_id!r} was "
                "read by a task that is not one of the group's instances"
            )
        value = self.group.argument_at(self.name, map_index, context)
        for item in self.path:
            value = value[item]
        return value

    def serialize(self) -> dict[str, Any]:
        return {"mapped_argument": self.name, "group": self.group.group_id, "path": [*self.path]}

    def __repr__(self) -> str:
        return f"MappedArgument({self.group.group_id!r}, {self.name!r})"


class MappedTaskGroup(TaskGroup):
    """A task group whose tasks have one instance per element of ``expand_input``."""

    is_mapped = True

    def __init__(
        self,
        group_id: str,
        *,
        expand_input: ExpandInput,
        defaults: dict[str, Any],
        **options: Any,
    ) -> None:
        super().__init__(group_id, **options)
        outer = self.parent_group.closest_mapped_group() if self.parent_group else None
        if outer is not None:
            raise NotImplementedError(
                f"task group {self.group_id!r} cannot be mapped inside mapped task group "
                f"{outer.group_id!r}: nested mapped task groups are not supported "
                f"(at {self.call_site})"
            )
        self.expand_input = expand_input
        self.defaults = defaults
        """The function's parameter defaults, for a dict of ``expand_kwargs`` without them."""

    def argument_at(self, name: str, map_index: int, context: Mapping[str, Any]) -> Any:
        """The value of parameter ``name`` in instance ``map_index``."""
        values = self.expand_input.values_at(map_index, context)
        if name in values:
            return values[name]
        if name in self.defaults:
            return self.defaults[name]
        raise TypeError(
            f"expand_kwargs() of task group {self.group_id!r}: element {map_index} has no "
            f"argument {name!r} (it has {sorted(values)})"
        )

    def check_tasks(self) -> None:
        """Airflow's rule: a task that runs whatever its upstream did (``always``) cannot
        wait for the values the group expands over."""
        if not self.expand_input.references():
            return
        for task in self.iter_tasks():
            if task.trigger_rule is TriggerRule.ALWAYS:
                raise ValueError(
                    "Task-generated mapping within a mapped task group is not allowed with "
                    f"trigger rule 'always' (task {task.task_id!r} at {task.call_site})"
                )


def _fail(exc: type[Exception], message: str, function: Any) -> Exception:
    name = getattr(function, "__name__", repr(function))
    return exc(f"{message} (task group {name!r} at {user_call_site()})")


def check_partial(function: Any, given: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """``.partial(**kwargs)`` of a ``@task_group`` function, over ``given`` already fixed."""
    for key in kwargs:
        if key in given:
            raise _fail(TypeError, f"duplicate partial argument: {key}", function)
    _check_names(function, "partial()", kwargs)


def _check_names(function: Any, verb: str, kwargs: dict[str, Any]) -> None:
    params = inspect.signature(function).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    for key in kwargs:
        if key not in params:
            raise _fail(TypeError, f"{verb} got an unexpected keyword argument {key!r}", function)


def expand_group(
    factory: _TaskGroupFunction[Any, Any], args: tuple[Any, ...], mapped: dict[str, Any]
) -> Any:
    """``group_function.expand(**mapped)``: the mapped group, built now."""
    function = factory.function
    try:
        _check_expand_call("expand()", args, mapped, function.__name__)
        for key, value in mapped.items():
            _check_mapped_value("expand()", key, value, function.__name__)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("(task ", "(task group ", 1)) from None
    _check_names(function, "expand()", mapped)
    for key in mapped:
        if key in factory.partial_kwargs:
            raise _fail(TypeError, f"mapping already partial argument: {key}", function)
    return _build(factory, ExpandInput("expand", mapped), list(mapped))


def expand_group_kwargs(factory: _TaskGroupFunction[Any, Any], value: Any) -> Any:
    """``group_function.expand_kwargs(value)``: each parameter not fixed by ``partial`` is
    read from the instance's dict (or is the parameter's default when the dict lacks it)."""
    function = factory.function
    try:
        OperatorPartial.check_expand_kwargs(value, function.__name__)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("(task ", "(task group ", 1)) from None
    params = inspect.signature(function).parameters
    names = [
        name
        for name, p in params.items()
        if name not in factory.partial_kwargs
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    return _build(factory, ExpandInput("expand_kwargs", value), names)


def _build(
    factory: _TaskGroupFunction[Any, Any], expand_input: ExpandInput, names: list[str]
) -> Any:
    """Run the function once inside a new mapped group, with placeholders for ``names``;
    return what it returned, or the group when it returned nothing (as a call does)."""
    function = factory.function
    group_id, options = factory.group_arguments()
    defaults = {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not p.empty
    }
    group = MappedTaskGroup(group_id, expand_input=expand_input, defaults=defaults, **options)
    with group:
        arguments = {name: MappedArgument(group, name) for name in names}
        result = function(**factory.partial_kwargs, **arguments)
    for ref in expand_input.references():
        for upstream in ref.references():
            group.set_upstream(upstream.operator)
    group.check_tasks()
    return group if result is None else result
