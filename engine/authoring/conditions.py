"""``@task.run_if(condition)`` and ``@task.skip_if(condition)``: decide at run time, before
the task executes, whether it runs or ends as ``skipped``.

``condition`` is called with the task's context and returns a truth value, or a pair
``(truth value, message)`` whose message replaces ``skip_message``. Stacked conditions
run in the order they were applied (the one nearest ``@task`` first); the first that
asks for a skip wins. An error in a condition fails the try like an error in the task.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.authoring.signals import SkipTask

DEFAULT_SKIP_MESSAGE = "Task was skipped due to condition."

Condition = Callable[[Mapping[str, Any]], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class RunCondition:
    """One ``run_if`` (``skip_when=False``) or ``skip_if`` (``skip_when=True``)."""

    condition: Condition
    skip_when: bool
    skip_message: str | None = None

    def check(self, context: Mapping[str, Any]) -> None:
        """Raise :class:`SkipTask` when the condition asks for a skip."""
        answer = self.condition(context)
        message = self.skip_message or DEFAULT_SKIP_MESSAGE
        if isinstance(answer, tuple):
            answer, given = answer
            message = given or message
        if bool(answer) is self.skip_when:
            raise SkipTask(message)


def run_if(condition: Condition, skip_message: str | None = None) -> Callable[[T], T]:
    """Run the decorated ``@task`` only when ``condition(context)`` is true; skip it otherwise."""
    return _conditional(RunCondition(condition, False, skip_message), "run_if")


def skip_if(condition: Condition, skip_message: str | None = None) -> Callable[[T], T]:
    """Skip the decorated ``@task`` when ``condition(context)`` is true."""
    return _conditional(RunCondition(condition, True, skip_message), "skip_if")


def _conditional(rule: RunCondition, name: str) -> Callable[[T], T]:
    if not callable(rule.condition):
        raise TypeError(f"{name} takes a function of the context, got {rule.condition!r}")

    def decorator(decorated: T) -> T:
        conditions = getattr(decorated, "run_conditions", None)
        if not isinstance(conditions, list):
            raise TypeError(
                f"@task.{name} applies to a @task function: put @task (or @task.bash, "
                f"@task.branch...) below @task.{name}, not {decorated!r}"
            )
        conditions.append(rule)
        return decorated

    return decorator


def check_run_conditions(conditions: list[RunCondition], context: Mapping[str, Any]) -> None:
    """Raise :class:`SkipTask` for the first of ``conditions`` that asks for a skip."""
    for rule in conditions:
        rule.check(context)
