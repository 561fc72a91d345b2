"""TaskFlow: ``@task`` functions whose return values flow to other tasks as XCom.

Calling a decorated function inside a DAG creates a task and returns an :class:`XComArg`;
passing that to another task's call creates the dependency and, when the task runs,
delivers the upstream return value.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.conditions import RunCondition, run_if, skip_if
from engine.authoring.operators.bash import BashDecoratedOperator
from engine.authoring.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from engine.authoring.operators.sensors.python import DecoratedSensorOperator
from engine.authoring.operators.virtualenv import (
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from engine.authoring.setupteardown import SetupTeardownMixin
from engine.authoring.taskgroup import placement

P = ParamSpec("P")
R = TypeVar("R")

RETURN_VALUE = "return_value"


class _NotSet:
    def __repr__(self) -> str:
        return "NOTSET"


NOTSET: Any = _NotSet()
"""An argument not given (``zip()`` without ``fillvalue`` stops at the shortest input)."""


class XComArg(SetupTeardownMixin):
    """A reference to a task's XCom (its return value, or one key of it); ``as_setup``,
    ``as_teardown`` and ``with`` act on its task."""

    def __init__(self, operator: BaseOperator, key: str = RETURN_VALUE, path: tuple[Any, ...] = ()):
        self.operator = operator
        self.key = key
        self.path = path

    def _marked_task(self) -> BaseOperator:
        return self.operator

    def __getitem__(self, item: Any) -> XComArg:
        return XComArg(self.operator, self.key, (*self.path, item))

    def resolve(self, context: Mapping[str, Any]) -> Any:
        value = context["ti"].xcom_pull(task_ids=self.operator.task_id, key=self.key)
        for item in self.path:
            value = value[item]
        return value

    def serialize(self) -> dict[str, Any]:
        return {"xcom_arg": self.operator.task_id, "key": self.key, "path": list(self.path)}

    def references(self) -> list[XComArg]:
        """The plain XCom references this one reads (several for a ``zip``)."""
        return [self]

    def map(self, fn: Callable[[Any], Any]) -> XComArg:
        """Each element of this (list or dict) value passed through ``fn``, for mapping."""
        from engine.authoring.xcomtransforms import map_xcom

        return map_xcom(self, fn)

    def zip(self, *others: Any, fillvalue: Any = NOTSET, default: Any = NOTSET) -> XComArg:
        """Tuples of this value's and ``others``' elements; the shortest input ends it,
        unless ``fillvalue`` (Airflow's docs call it ``default``) is given: then the
        longest does, padded with it."""
        from engine.authoring.xcomtransforms import zip_xcoms

        return zip_xcoms(self, others, default if fillvalue is NOTSET else fillvalue)

    def concat(self, *others: Any) -> XComArg:
        """This value's elements followed by ``others``' (each a task's return value), as
        one lazy sequence that ``expand`` can map over."""
        from engine.authoring.xcomtransforms import concat_xcoms

        return concat_xcoms(self, others)

    def __rshift__(self, other: Any) -> Any:
        return self.operator >> other

    def __lshift__(self, other: Any) -> Any:
        return self.operator << other

    def __rrshift__(self, other: Any) -> XComArg:
        self.operator.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> XComArg:
        self.operator.set_downstream(other)
        return self

    def __repr__(self) -> str:
        return f"XComArg({self.operator.task_id!r}, {self.key!r})"

    def __str__(self) -> str:
        """A template that pulls the value, as Airflow writes it: an XComArg put in an
        f-string of a templated field (``f"echo {task.output}"``) renders to the value."""
        dag_id = self.operator.dag.dag_id if self.operator.dag else None
        return (
            f"{{{{ task_instance.xcom_pull(task_ids={self.operator.task_id!r}, "
            f"dag_id={dag_id!r}, key={self.key!r}) }}}}"
        )


def find_xcom_args(value: Any) -> list[XComArg]:
    """Every :class:`XComArg` inside ``value`` (recursing into lists, tuples and dicts)."""
    if isinstance(value, XComArg):
        return value.references()
    if isinstance(value, list | tuple | set):
        return [arg for item in value for arg in find_xcom_args(item)]
    if isinstance(value, dict):
        return [arg for item in value.values() for arg in find_xcom_args(item)]
    return []


class _DecoratedTask(Generic[P, R]):
    """What ``@task`` returns: calling it inside a DAG adds a task and returns its XComArg."""

    def __init__(
        self,
        func: Callable[P, R],
        operator_class: type[BaseOperator],
        options: dict[str, Any],
        run_conditions: list[RunCondition] | None = None,
    ) -> None:
        self.function = func
        self.operator_class = operator_class
        self.options = options
        self.run_conditions: list[RunCondition] = list(run_conditions or [])
        """What ``@task.run_if`` / ``@task.skip_if`` added, checked before each run."""
        functools.update_wrapper(self, func)

    def override(self, **options: Any) -> _DecoratedTask[P, R]:
        """The same task with other settings (``task_id``, ``retries``, ``priority``...)."""
        return _DecoratedTask(
            self.function, self.operator_class, {**self.options, **options}, self.run_conditions
        )

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> XComArg:
        options = dict(self.options)
        options.setdefault("multiple_outputs", _returns_mapping(self.function))
        task_id = options.pop("task_id", None) or _unique_task_id(self.function.__name__)
        operator = self.operator_class(
            task_id=task_id,
            python_callable=self.function,
            op_args=list(args),
            op_kwargs=dict(kwargs),
            **options,
        )
        operator.run_conditions = tuple(self.run_conditions)
        for upstream in find_xcom_args([args, kwargs]):
            operator.set_upstream(upstream.operator)
        return XComArg(operator)

    def partial(self, **kwargs: Any) -> TaskPartial:
        """Fix some arguments, then ``.expand(...)`` the others into mapped instances."""
        return TaskPartial(self, {}).partial(**kwargs)

    def expand(self, *args: Any, **mapped: Any) -> XComArg:
        """One task instance per element (per combination, for several arguments)."""
        return TaskPartial(self, {}).expand(*args, **mapped)

    def expand_kwargs(self, value: Any, *, strict: bool = True) -> XComArg:
        """One task instance per dict of keyword arguments in ``value``."""
        return TaskPartial(self, {}).expand_kwargs(value, strict=strict)


class TaskPartial:
    """``fn.partial(x=1)``: a ``@task`` function with fixed arguments, to be expanded."""

    def __init__(self, decorated: _DecoratedTask[Any, Any], kwargs: dict[str, Any]) -> None:
        self.decorated = decorated
        self.kwargs = kwargs

    def partial(self, **kwargs: Any) -> TaskPartial:
        for key in kwargs:
            if key in self.kwargs:
                raise TypeError(f"duplicate partial argument: {key}")
        return TaskPartial(self.decorated, {**self.kwargs, **kwargs})

    def expand(self, *args: Any, **mapped: Any) -> XComArg:
        from engine.authoring.mapping import ExpandInput, check_taskflow_expand

        task_id = self._task_id()
        check_taskflow_expand(self.decorated.function, args, mapped, task_id)
        return self._mapped(task_id, ExpandInput("expand", mapped))

    def expand_kwargs(self, value: Any, *, strict: bool = True) -> XComArg:
        from engine.authoring.mapping import ExpandInput, OperatorPartial

        task_id = self._task_id()
        OperatorPartial.check_expand_kwargs(value, task_id)
        return self._mapped(task_id, ExpandInput("expand_kwargs", value))

    def _task_id(self) -> str:
        return str(
            self.decorated.options.get("task_id")
            or _unique_task_id(self.decorated.function.__name__)
        )

    def _mapped(self, task_id: str, expand_input: Any) -> XComArg:
        from engine.authoring.mapping import MappedOperator
        from engine.authoring.tasksettings import SETTING_NAMES

        options = {k: v for k, v in self.decorated.options.items() if k != "task_id"}
        fixed = {k: v for k, v in options.items() if k not in SETTING_NAMES}
        operator = MappedOperator(
            task_id,
            operator_class=self.decorated.operator_class,
            settings={k: v for k, v in options.items() if k in SETTING_NAMES},
            partial_kwargs={
                **fixed,
                "python_callable": self.decorated.function,
                "op_kwargs": dict(self.kwargs),
            },
            expand_input=expand_input,
            mapped_into="op_kwargs",
        )
        operator.run_conditions = tuple(self.decorated.run_conditions)
        return XComArg(operator)


def _returns_mapping(func: Callable[..., Any]) -> bool:
    """Airflow's inference for ``@task``: a function annotated to return a mapping
    (``-> dict[str, int]``) has ``multiple_outputs``."""
    try:
        returns = typing.get_type_hints(func).get("return")
    except Exception:  # noqa: BLE001 - an unresolvable annotation infers nothing
        return False
    origin = typing.get_origin(returns) or returns
    return isinstance(origin, type) and issubclass(origin, Mapping)


def _unique_task_id(name: str) -> str:
    """Airflow's rule: a second call of the same function gets ``name__1``, and so on
    (compared by full id, inside the current task group)."""
    dag, group = placement()
    if dag is None or group is None or not dag.has_task(group.child_id(name)):
        return name
    n = 1
    while dag.has_task(group.child_id(f"{name}__{n}")):
        n += 1
    return f"{name}__{n}"


class _TaskDecorator:
    """``@decorator`` and ``@decorator(retries=2)``: a function as a task of one operator class."""

    def __init__(self, operator_class: type[BaseOperator]) -> None:
        self._operator_class = operator_class

    @overload
    def __call__(self, func: Callable[P, R], /) -> _DecoratedTask[P, R]: ...
    @overload
    def __call__(
        self, func: None = None, /, **options: Any
    ) -> Callable[[Callable[P, R]], _DecoratedTask[P, R]]: ...
    def __call__(
        self, func: Callable[P, R] | None = None, /, **options: Any
    ) -> _DecoratedTask[P, R] | Callable[[Callable[P, R]], _DecoratedTask[P, R]]:
        if func is not None:
            return _DecoratedTask(func, self._operator_class, options)
        return lambda f: _DecoratedTask(f, self._operator_class, options)


class _Task(_TaskDecorator):
    """``@task``, ``@task(retries=2)``, and ``@task.branch``."""

    branch = _TaskDecorator(BranchPythonOperator)
    """A function that returns the task id (or ids) to follow."""

    virtualenv = _TaskDecorator(PythonVirtualenvOperator)
    """A self-contained function run in a virtualenv made from ``requirements``."""
    external_python = _TaskDecorator(ExternalPythonOperator)
    """A self-contained function run by an existing interpreter, ``python=``."""
    branch_virtualenv = _TaskDecorator(BranchPythonVirtualenvOperator)
    """``@task.virtualenv`` that returns the task id (or ids) to follow."""
    branch_external_python = _TaskDecorator(BranchExternalPythonOperator)
    """``@task.external_python`` that returns the task id (or ids) to follow."""

    short_circuit = _TaskDecorator(ShortCircuitOperator)
    """A function whose falsy result skips what lies below (``ShortCircuitOperator``)."""

    bash = _TaskDecorator(BashDecoratedOperator)
    """A function that returns the shell command to run (``BashOperator``)."""

    sensor = _TaskDecorator(DecoratedSensorOperator)
    """A function that pokes: it returns a bool or a ``PokeReturnValue`` (a sensor)."""

    run_if = staticmethod(run_if)
    skip_if = staticmethod(skip_if)


task = _Task(PythonOperator)
