"""Setup and teardown tasks as a DAG file writes them, in Airflow's idiom::

    @setup
    def create_cluster(): ...

    @teardown
    def delete_cluster(): ...

    with create_cluster() >> delete_cluster():
        work()                      # runs after the setup, before the teardown

Also ``op.as_setup()``, ``op.as_teardown(setups=..., on_failure_fail_dagrun=...)`` on
operators and TaskFlow results, and ``with setup_task:``. A teardown's trigger rule is
always ``all_done_setup_success``; the run-time rules live in
:mod:`engine.authoring.setupteardown_rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from engine.authoring.callsite import CallSite
from engine.authoring.trigger_rules import TriggerRule
from engine.errors import DagDefinitionError

if TYPE_CHECKING:
    from engine.authoring.baseoperator import BaseOperator
    from engine.authoring.dag import DAG
    from engine.authoring.taskflow import _DecoratedTask

TEARDOWN_RULE = TriggerRule.ALL_DONE_SETUP_SUCCESS
M = TypeVar("M", bound="SetupTeardownMixin")


# -- marking tasks -----------------------------------------------------------------------------


def mark_setup(task: BaseOperator) -> None:
    if task.is_teardown:
        raise DagDefinitionError(
            f"Cannot mark task {task.task_id!r} as setup; task is already a teardown."
        )
    task.is_setup = True


def mark_teardown(
    task: BaseOperator, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
) -> None:
    """Make ``task`` a teardown of ``setups`` (tasks or TaskFlow results), which become
    setups and its upstream tasks; the teardown's trigger rule is overwritten."""
    if task.is_setup:
        raise DagDefinitionError(
            f"Cannot mark task {task.task_id!r} as teardown; task is already a setup."
        )
    task.is_teardown = True
    task.trigger_rule = TEARDOWN_RULE
    if on_failure_fail_dagrun is not None:
        task.on_failure_fail_dagrun = bool(on_failure_fail_dagrun)
    for setup in _operators(setups):
        mark_setup(setup)
        setup >> task


def on_task_created(task: BaseOperator, given: Iterable[str]) -> None:
    """A new task: a teardown gets its trigger rule (one given otherwise is reported by
    validation), and the innermost setup/teardown scope, if any, collects it."""
    if task.is_teardown and "trigger_rule" not in given:
        task.trigger_rule = TEARDOWN_RULE
    if _scopes:
        _scopes[-1].tasks.append(task)


def problems_of(dag: DAG) -> list[tuple[str, CallSite]]:
    """What validation reports about a DAG's setups and teardowns."""
    problems = []
    for task in dag.tasks:
        problems += [(message, task.call_site) for message in _task_problems(dag, task)]
    return problems


def _task_problems(dag: DAG, task: BaseOperator) -> list[str]:
    name = f"task {task.task_id!r}"
    problems = []
    if task.is_setup and task.is_teardown:
        problems.append(f"{name} cannot be both a setup and a teardown")
    if task.on_failure_fail_dagrun and not task.is_teardown:
        problems.append(
            f"Cannot set task on_failure_fail_dagrun for {task.task_id!r} "
            "because it is not a teardown task."
        )
    if task.is_teardown and task.trigger_rule is not TEARDOWN_RULE:
        problems.append(
            f"{name}: Trigger rule not configurable for teardown tasks "
            f"(got {task.trigger_rule.value!r})."
        )
    setups = [up for up in sorted(task.upstream_task_ids) if _is_setup(dag, up)]
    if setups and not task.is_teardown and task.trigger_rule is not TriggerRule.ALL_SUCCESS:
        problems.append(
            f"{name} follows setup {setups[0]!r} with trigger rule "
            f"{task.trigger_rule.value!r}: Setup tasks must be followed with "
            "trigger rule ALL_SUCCESS."
        )
    return problems


def _is_setup(dag: DAG, task_id: str) -> bool:
    task = dag.task_dict.get(task_id)
    return task is not None and task.is_setup


# -- context-manager scoping ---------------------------------------------------------------


class SetupTeardownScope:
    """The block of ``with setup >> teardown:``: tasks created in it run after the
    setups and before the teardowns. ``scope.add_task(t)`` adds a task created before."""

    def __init__(self, setups: list[BaseOperator], teardowns: list[BaseOperator]) -> None:
        self.setups = setups
        self.teardowns = teardowns
        self.tasks: list[BaseOperator] = []

    def add_task(self, task: Any) -> None:
        self.tasks.extend(_operators(task))

    def close(self) -> None:
        edges = {id(t) for t in (*self.setups, *self.teardowns)}
        work = [t for t in self.tasks if id(t) not in edges]
        if not work:
            return
        roots = [t for t in work if not t.upstream_task_ids] or work[:1]
        leaves = [t for t in work if not t.downstream_task_ids] or work[-1:]
        for setup in self.setups:
            setup >> roots
        for teardown in self.teardowns:
            leaves >> teardown


_scopes: list[SetupTeardownScope] = []


def enter_scope(task: BaseOperator) -> SetupTeardownScope:
    """Open the scope of a setup (with its teardowns) or a teardown (with its setups)."""
    if task.is_teardown:
        scope = SetupTeardownScope(_nearest(task, want_setups=True), [task])
    elif task.is_setup:
        scope = SetupTeardownScope([task], _nearest(task, want_setups=False))
    else:
        raise DagDefinitionError(
            f"task {task.task_id!r}: Only setup/teardown tasks can be used as context managers."
        )
    _scopes.append(scope)
    return scope


def exit_scope(exc_type: type[BaseException] | None) -> None:
    scope = _scopes.pop()
    if exc_type is None:
        scope.close()


def _nearest(task: BaseOperator, *, want_setups: bool) -> list[BaseOperator]:
    """The first setups upstream of a teardown, or the first teardowns downstream of a setup."""
    found: list[BaseOperator] = []
    seen: set[str] = set()
    todo = [task]
    while todo and task.dag is not None:
        current = todo.pop()
        ids = current.upstream_task_ids if want_setups else current.downstream_task_ids
        for task_id in sorted(ids - seen):
            seen.add(task_id)
            other = task.dag.task_dict[task_id]
            if other.is_setup if want_setups else other.is_teardown:
                found.append(other)
            else:
                todo.append(other)
    return found


class SetupTeardownMixin:
    """``as_setup``, ``as_teardown`` and ``with ...:`` for tasks and TaskFlow results."""

    def _marked_task(self) -> BaseOperator:
        raise NotImplementedError

    def as_setup(self: M) -> M:
        """Make this task a setup; returns it."""
        mark_setup(self._marked_task())
        return self

    def as_teardown(
        self: M, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> M:
        """Make this task the teardown of ``setups`` (which become setups, upstream of
        it); ``on_failure_fail_dagrun`` lets its failure fail the run. Returns it."""
        mark_teardown(
            self._marked_task(), setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun
        )
        return self

    def __enter__(self) -> SetupTeardownScope:
        return enter_scope(self._marked_task())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        exit_scope(exc_type)


# -- decorators ----------------------------------------------------------------------------


def setup(func: Callable[..., Any]) -> _DecoratedTask[Any, Any]:
    """``@setup``: a TaskFlow task (or ``@task...`` function) that is a setup."""
    decorated = _as_task(func)
    if decorated.options.get("is_teardown"):
        raise DagDefinitionError(f"{decorated.function.__name__}: a teardown cannot be a setup")
    return decorated.override(is_setup=True)


def teardown(
    func: Callable[..., Any] | None = None, /, *, on_failure_fail_dagrun: bool = False
) -> Any:
    """``@teardown`` or ``@teardown(on_failure_fail_dagrun=True)``: a TaskFlow teardown."""

    def decorate(f: Callable[..., Any]) -> _DecoratedTask[Any, Any]:
        decorated = _as_task(f)
        if "trigger_rule" in decorated.options:
            raise DagDefinitionError("Trigger rule not configurable for teardown tasks.")
        if decorated.options.get("is_setup"):
            raise DagDefinitionError(f"{decorated.function.__name__}: a setup cannot be a teardown")
        return decorated.override(
            is_teardown=True,
            trigger_rule=TEARDOWN_RULE,
            on_failure_fail_dagrun=on_failure_fail_dagrun,
        )

    return decorate if func is None else decorate(func)


def _as_task(func: Callable[..., Any]) -> _DecoratedTask[Any, Any]:
    from engine.authoring.taskflow import _DecoratedTask, task

    if isinstance(func, _DecoratedTask):
        return func
    if not callable(func):
        raise DagDefinitionError(f"@setup/@teardown decorate a function, not {func!r}")
    return task(func)


def _operators(value: Any) -> list[BaseOperator]:
    from engine.authoring.baseoperator import BaseOperator
    from engine.authoring.taskflow import XComArg

    if value is None:
        return []
    if isinstance(value, BaseOperator):
        return [value]
    if isinstance(value, XComArg):
        return [value.operator]
    if isinstance(value, list | tuple | set):
        return [op for item in value for op in _operators(item)]
    raise DagDefinitionError(f"expected a task or a list of tasks, got {value!r}")
