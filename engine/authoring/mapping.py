"""Dynamic task mapping: ``.partial(...).expand(...)`` and ``.expand_kwargs(...)`` (the
``.map()``, ``.zip()`` and ``.concat()`` transforms of an XCom are in
:mod:`engine.authoring.xcomtransforms`).

A mapped task is one :class:`MappedOperator` in the DAG; when it runs, each of its
instances (``map_index`` 0, 1, ...) builds the real operator from the partial arguments
and its own element of the expansion (:meth:`MappedOperator.unmap`). Several expanded
arguments form a cross product in which the last argument varies fastest; a dict is
expanded as its ``(key, value)`` pairs. What the scheduler needs, the expansion's
length, is read from the serialized spec by :mod:`engine.authoring.expansion`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.callsite import user_call_site
from engine.authoring.dag import current_dag
from engine.authoring.taskflow import XComArg, find_xcom_args
from engine.authoring.tasksettings import SETTING_NAMES, TASK_SETTINGS
from engine.authoring.trigger_rules import TriggerRule
from engine.authoring.xcomtransforms import (
    as_sequence,
    check_expanded_xcom,
    check_mappable_type,
    resolved,
    serialize_source,
)

CONTEXT_KEYS = frozenset(
    {
        "dag", "task", "ti", "task_instance", "dag_run", "run_id", "logical_date", "ds",
        "ds_nodash", "ts", "ts_nodash", "data_interval_start", "data_interval_end",
        "params", "conf", "macros", "map_index", "ts_nodash_with_tz", "task_instance_key_str",
        "prev_data_interval_start_success", "prev_data_interval_end_success",
        "prev_start_date_success", "prev_end_date_success",
    }
)  # fmt: skip
"""Names a task's context gives; a ``@task`` function cannot be mapped over them."""

DEFAULT_MAX_MAP_LENGTH = 1024
"""``core.max_map_length``: the most instances one expansion may have."""

_NOT_PER_TASK = frozenset({"task_id", "dag", "default_args"})


def feeds_mapping(dag: Any, task_id: str) -> bool:
    """Whether a mapped task or mapped task group of ``dag`` expands over ``task_id``'s
    return value."""
    inputs = [task.expand_input for task in dag.tasks if isinstance(task, MappedOperator)]
    groups = dag.task_group.get_task_group_dict().values()
    inputs += [group.expand_input for group in groups if group.is_mapped]
    return any(ref.operator.task_id == task_id for i in inputs for ref in i.references())


def in_mapped_group(task: BaseOperator) -> bool:
    """Whether ``task`` is expanded with a mapped task group it is in."""
    return task.task_group is not None and task.task_group.closest_mapped_group() is not None


# -- what is expanded -----------------------------------------------------------------------


class ExpandInput:
    """The arguments of ``expand(**kwargs)`` (``kind="expand"``), or the list of keyword
    dicts of ``expand_kwargs(value)`` (``kind="expand_kwargs"``)."""

    def __init__(self, kind: str, value: Any) -> None:
        self.kind = kind
        self.value = value

    def references(self) -> list[XComArg]:
        return find_xcom_args(self.value)

    def serialize(self) -> dict[str, Any]:
        if self.kind == "expand":
            args = {name: serialize_source(v) for name, v in self.value.items()}
            return {"kind": "expand", "args": args}
        if isinstance(self.value, XComArg):
            return {"kind": "expand_kwargs", "source": self.value.serialize()}
        return {"kind": "expand_kwargs", "source": {"literal_length": len(self.value)}}

    def values_at(self, index: int, context: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of instance ``index``."""
        if self.kind == "expand_kwargs":
            return _kwargs_at(self.value, index, context)
        names = list(self.value)
        values = {name: as_sequence(resolved(self.value[name], context)) for name in names}
        chosen: dict[str, Any] = {}
        for name in reversed(names):  # the last argument varies fastest
            index, position = divmod(index, len(values[name]))
            chosen[name] = values[name][position]
        return {name: chosen[name] for name in names}


def _kwargs_at(value: Any, index: int, context: Mapping[str, Any]) -> dict[str, Any]:
    items = as_sequence(resolved(value, context))
    item = items[index]
    if not isinstance(item, dict):
        raise ValueError(f"expand_kwargs() expects a list[dict], not list[{type(item).__name__}]")
    if not all(isinstance(key, str) for key in item):
        raise ValueError(f"expand_kwargs() input dict keys must all be str, got {list(item)!r}")
    return dict(item)


# -- the mapped task ------------------------------------------------------------------------


class MappedOperator(BaseOperator):
    """A task with one instance per element of its expansion (see the module docstring)."""

    def __init__(
        self,
        task_id: str,
        *,
        operator_class: type[BaseOperator],
        settings: dict[str, Any],
        partial_kwargs: dict[str, Any],
        expand_input: ExpandInput,
        mapped_into: str | None = None,
    ) -> None:
        self.operator_class = operator_class
        self.partial_kwargs = partial_kwargs
        self.expand_input = expand_input
        self.mapped_into = mapped_into
        self.template_fields = operator_class.template_fields  # type: ignore[misc]
        self.template_ext = operator_class.template_ext  # type: ignore[misc]
        self.template_fields_renderers = operator_class.template_fields_renderers  # type: ignore[misc]
        self.is_branch = operator_class.is_branch  # type: ignore[misc]
        super().__init__(task_id, **settings)
        if in_mapped_group(self):
            raise NotImplementedError(
                "operator expansion in an expanded task group is not yet supported "
                f"(task {self.task_id!r} at {self.call_site})"
            )
        if self.trigger_rule is TriggerRule.ALWAYS and expand_input.references():
            raise ValueError(
                "Task-generated mapping within a task using 'expand' is not allowed with "
                f"trigger rule 'always' (task {task_id!r} at {self.call_site})"
            )
        for ref in [*expand_input.references(), *find_xcom_args(partial_kwargs)]:
            for upstream in ref.references():
                self.set_upstream(upstream.operator)

    @property
    def operator_name(self) -> str:
        return self.operator_class.__name__

    def serialize_fields(self) -> dict[str, Any]:
        fields = {k: v for k, v in self.partial_kwargs.items() if k != "python_callable"}
        if "python_callable" in self.partial_kwargs:
            func = self.partial_kwargs["python_callable"]
            fields["python_callable"] = f"{func.__module__}.{func.__qualname__}"
        return fields

    def unmap(self, context: Mapping[str, Any], map_index: int) -> BaseOperator:
        """The operator of instance ``map_index``: the partial arguments plus its element."""
        return self._build(self.expand_input.values_at(map_index, context))

    def unmap_unrendered(
        self, context: Mapping[str, Any], map_index: int, render: Callable[[BaseOperator], Any]
    ) -> BaseOperator:
        """Instance ``map_index``'s operator rendered by ``render``, except its mapped
        values: as in Airflow, an element of the expansion is data, not a template."""
        values = self.expand_input.values_at(map_index, context)
        rendered = render(self._build(values))
        if self.mapped_into is not None:
            merged = {**getattr(rendered, self.mapped_into, {}), **values}
            setattr(rendered, self.mapped_into, merged)
        else:
            for name, value in values.items():
                setattr(rendered, name, value)
        return rendered  # type: ignore[no-any-return]

    def _build(self, values: dict[str, Any]) -> BaseOperator:
        kwargs = dict(self.partial_kwargs)
        if self.mapped_into is not None:
            kwargs[self.mapped_into] = {**kwargs.get(self.mapped_into, {}), **values}
        else:
            kwargs.update(values)
        settings = {s.name: getattr(self, s.name) for s in TASK_SETTINGS}
        task = self.operator_class(task_id=self.task_id, **settings, **kwargs)
        task.dag = self.dag
        task.upstream_task_ids = set(self.upstream_task_ids)
        task.downstream_task_ids = set(self.downstream_task_ids)
        return task


def _fail(exc: type[Exception], message: str, task_id: Any) -> Exception:
    return exc(f"{message} (task {task_id!r} at {user_call_site()})")


def accepted_arguments(operator_class: type[BaseOperator]) -> frozenset[str]:
    """The keyword arguments ``operator_class(...)`` takes, along its ``__init__`` chain."""
    names: set[str] = set()
    for klass in operator_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass is BaseOperator:
            return frozenset(names | SETTING_NAMES | _NOT_PER_TASK)
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return frozenset(names - {"self"})


class OperatorPartial:
    """``SomeOperator.partial(task_id=..., **fixed)``, waiting for ``.expand(...)``."""

    def __init__(self, operator_class: type[BaseOperator], kwargs: dict[str, Any]) -> None:
        name = operator_class.__name__
        accepted = accepted_arguments(operator_class)
        for key in kwargs:
            if key not in accepted:
                raise _fail(
                    TypeError,
                    f"{name}.partial() got an unexpected keyword argument {key!r}",
                    kwargs.get("task_id"),
                )
        if "task_id" not in kwargs:
            raise TypeError(f"{name}.partial() needs task_id (at {user_call_site()})")
        kwargs = dict(kwargs)
        self.task_id: str = kwargs.pop("task_id")
        dag = kwargs.pop("dag", None) or current_dag()
        defaults = {**(dag.default_args if dag else {}), **kwargs.pop("default_args", {})}
        kwargs = {**{k: v for k, v in defaults.items() if k in accepted}, **kwargs}
        self.operator_class = operator_class
        self.dag = dag
        self.settings = {k: v for k, v in kwargs.items() if k in SETTING_NAMES}
        self.kwargs = {k: v for k, v in kwargs.items() if k not in SETTING_NAMES}
        self.mappable = accepted - SETTING_NAMES - _NOT_PER_TASK - self.kwargs.keys()

    def expand(self, *args: Any, **mapped: Any) -> MappedOperator:
        name = f"{self.operator_class.__name__}.expand()"
        _check_expand_call(name, args, mapped, self.task_id)
        for key, value in mapped.items():
            if key not in self.mappable:
                if key in accepted_arguments(self.operator_class):
                    raise _fail(
                        TypeError, f"unmappable or already specified argument: {key}", self.task_id
                    )
                raise _fail(
                    TypeError, f"{name} got an unexpected keyword argument {key!r}", self.task_id
                )
            _check_mapped_value(name, key, value, self.task_id)
        return self._mapped(ExpandInput("expand", mapped))

    def expand_kwargs(self, value: Any, *, strict: bool = True) -> MappedOperator:
        self.check_expand_kwargs(value, self.task_id)
        return self._mapped(ExpandInput("expand_kwargs", value))

    @staticmethod
    def check_expand_kwargs(value: Any, task_id: Any) -> None:
        if isinstance(value, XComArg):
            _check_mapped_value("expand_kwargs()", "kwargs", value, task_id)
            return
        if not isinstance(value, list) or not all(isinstance(v, dict | XComArg) for v in value):
            raise _fail(
                TypeError, f"expected XComArg or list[dict], not {type(value).__name__}", task_id
            )

    def _mapped(self, expand_input: ExpandInput) -> MappedOperator:
        return MappedOperator(
            self.task_id,
            operator_class=self.operator_class,
            settings={**self.settings, "dag": self.dag},
            partial_kwargs=self.kwargs,
            expand_input=expand_input,
        )


def _check_expand_call(
    name: str, args: tuple[Any, ...], mapped: dict[str, Any], task_id: Any
) -> None:
    if args:
        raise _fail(TypeError, f"{name} takes keyword arguments only", task_id)
    if not mapped:
        raise _fail(TypeError, "no arguments to expand against", task_id)


def _check_mapped_value(name: str, key: str, value: Any, task_id: Any) -> None:
    try:
        check_mappable_type(value, what=name, name=key)
        check_expanded_xcom(value)
    except ValueError as exc:
        raise _fail(ValueError, str(exc), task_id) from None


def check_taskflow_expand(
    function: Callable[..., Any], args: tuple[Any, ...], mapped: dict[str, Any], task_id: str
) -> None:
    """Parse-time checks of ``fn.expand(**mapped)`` for a ``@task`` function."""
    _check_expand_call("expand()", args, mapped, task_id)
    params = inspect.signature(function).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for key, value in mapped.items():
        if key in CONTEXT_KEYS:
            raise _fail(
                ValueError, f"cannot call expand() on task context variable {key!r}", task_id
            )
        if key not in params and not takes_any:
            raise _fail(TypeError, f"expand() got an unexpected keyword argument {key!r}", task_id)
        _check_mapped_value("expand()", key, value, task_id)
