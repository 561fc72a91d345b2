"""PythonOperator, BranchPythonOperator and ShortCircuitOperator: a Python callable as a task."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, ClassVar

from engine.authoring.assets import Metadata
from engine.authoring.baseoperator import BaseOperator, check_callable
from engine.authoring.skipping import descendants, skip_downstream

log = logging.getLogger(__name__)


class PythonOperator(BaseOperator):
    """Call ``python_callable(*op_args, **op_kwargs)``; its return value becomes the XCom.

    Context values (``ti``, ``params``, ``logical_date``, ``ds``...) are passed to the
    callable when its signature names them or takes ``**kwargs``.
    """

    template_fields: ClassVar[tuple[str, ...]] = ("op_args", "op_kwargs", "templates_dict")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "templates_dict": "json",
        "op_args": "py",
        "op_kwargs": "py",
    }

    def __init__(
        self,
        task_id: str,
        python_callable: Callable[..., Any],
        *,
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: Mapping[str, Any] | None = None,
        templates_exts: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if templates_exts is not None:
            # Airflow's name: strings of the arguments ending in these are template files.
            self.template_ext = tuple(templates_exts)  # type: ignore[misc]
        self.python_callable, self.op_args, self.op_kwargs = bind_callable(
            python_callable, op_args, op_kwargs, problems=self.problems
        )
        self.templates_dict = dict(templates_dict) if templates_dict is not None else None

    def execute(self, context: Mapping[str, Any]) -> Any:
        return call_python(
            self.python_callable, self.op_args, self.op_kwargs, self.templates_dict, context
        )

    def serialize_fields(self) -> dict[str, Any]:
        func = self.python_callable
        return {
            "python_callable": dotted_name(func),
            "op_args": self.op_args,
            "op_kwargs": self.op_kwargs,
            "templates_dict": self.templates_dict,
            "multiple_outputs": self.multiple_outputs,
        }


class BranchPythonOperator(PythonOperator):
    """Return the task id (or list of ids) to follow; other direct downstream tasks are skipped."""

    is_branch = True


class ShortCircuitOperator(PythonOperator):
    """Go on only when ``python_callable`` returns something truthy (its XCom, as always).

    A falsy result skips every task below (``ignore_downstream_trigger_rules=True``, the
    default), or only the direct downstream tasks, leaving trigger rules to decide the
    rest (``False``). Teardown tasks are never skipped this way, as in Airflow.
    """

    def __init__(
        self,
        task_id: str,
        python_callable: Callable[..., Any],
        *,
        ignore_downstream_trigger_rules: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, python_callable, **kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def execute(self, context: Mapping[str, Any]) -> Any:
        condition = super().execute(context)
        if condition or not self.downstream_task_ids:
            return condition
        direct = self.downstream_task_ids
        below = descendants(self) if self.ignore_downstream_trigger_rules else direct
        return skip_downstream(self, condition, below)

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "ignore_downstream_trigger_rules": self.ignore_downstream_trigger_rules,
        }


def bind_callable(
    python_callable: Callable[..., Any],
    op_args: Sequence[Any] | None,
    op_kwargs: Mapping[str, Any] | None,
    *,
    problems: list[str],
) -> tuple[Callable[..., Any], list[Any], dict[str, Any]]:
    """The callable and its arguments as an operator that calls it keeps them; a
    ``python_callable`` that is not callable is one of the operator's ``problems``."""
    check_callable("python_callable", python_callable, problems)
    return python_callable, list(op_args or []), dict(op_kwargs or {})


def context_kwargs(
    func: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """``kwargs`` plus the context values that ``func`` asks for by name or via ``**kwargs``."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature takes nothing extra
        return dict(kwargs)
    params = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    positional = [
        name for name, p in params.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ][: len(args)]
    result = dict(kwargs)
    for key, value in context.items():
        if key in result or key in positional:
            continue
        if takes_any or (key in params and params[key].kind is not params[key].POSITIONAL_ONLY):
            result[key] = value
    return result


def call_python(
    func: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    templates_dict: Mapping[str, Any] | None,
    context: Mapping[str, Any],
) -> Any:
    """Call ``func`` as a PythonOperator does: its arguments, the context values it asks
    for, and ``templates_dict`` when the task has one."""
    called = context_kwargs(func, args, kwargs, context)
    if templates_dict is not None:
        called.setdefault("templates_dict", templates_dict)
    if inspect.isgeneratorfunction(func):
        return _drive(func(*args, **called), context)
    return func(*args, **called)


def _drive(generator: Generator[Any, None, Any], context: Mapping[str, Any]) -> Any:
    """Run a generator function as Airflow's task runner does: each ``Metadata`` it
    yields goes to ``outlet_events``, anything else is logged and dropped; what it
    ``return``s is the task's result."""
    while True:
        try:
            item = next(generator)
        except StopIteration as stop:
            return stop.value
        if not isinstance(item, Metadata):
            log.warning("ignoring %s yielded by the task: only Metadata is taken", type(item))
        elif item.alias is not None:
            context["outlet_events"][item.alias].add(item.asset, extra=item.extra)
        else:
            context["outlet_events"][item.asset].extra.update(item.extra)


def dotted_name(func: Callable[..., Any]) -> str:
    """How a task's callable is shown in its serialized form: ``module.qualname``."""
    module = getattr(func, "__module__", None) or "?"
    return f"{module}.{getattr(func, '__qualname__', repr(func))}"


def optional_name(func: Callable[..., Any] | None) -> str | None:
    """:func:`dotted_name` of an optional callable argument (None when not given)."""
    return None if func is None else dotted_name(func)
