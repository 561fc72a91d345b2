"""Running one attempt of one task in the current process: render, execute, classify.

The workers and ``loom dags test`` share this, so a task behaves the same everywhere.
Log capture, heartbeats and state writes are the caller's business.
"""

from __future__ import annotations

import copy
import logging
import signal
import threading
import traceback
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.conditions import check_run_conditions
from engine.authoring.currentcontext import current_context
from engine.authoring.mapping import (
    DEFAULT_MAX_MAP_LENGTH,
    MappedOperator,
    feeds_mapping,
    in_mapped_group,
)
from engine.authoring.operators.sensors.base import RescheduleTask
from engine.authoring.signals import FailTask, SkipTask, TaskTimeout
from engine.authoring.skipping import DownstreamSkip
from engine.authoring.templating import environment_for, render_value
from engine.authoring.triggers.base import TaskDeferred
from engine.errors import TemplateError
from engine.execution.context import TaskInstanceHandle
from engine.execution.xcoms import RETURN_VALUE, encoded

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    RESCHEDULED = "rescheduled"
    """A ``mode="reschedule"`` sensor's poke found nothing: it pokes again later, in the
    same try (the instance waits ``up_for_reschedule``)."""
    DEFERRED = "deferred"


@dataclass(frozen=True)
class Deferral:
    """What a try that called ``defer()`` waits on, encoded for the database (JSON)."""

    classpath: str
    trigger_kwargs: dict[str, Any]
    method_name: str
    method_kwargs: dict[str, Any] | None
    timeout: timedelta | None

    @classmethod
    def of(cls, deferred: TaskDeferred) -> Deferral:
        """``deferred`` encoded; raises ``TypeError`` for what JSON cannot hold."""
        classpath, kwargs = deferred.trigger.serialize()
        what = f"the arguments of trigger {classpath}"
        return cls(
            classpath=classpath,
            trigger_kwargs=encoded(kwargs, what=what),
            method_name=deferred.method_name,
            method_kwargs=encoded(deferred.kwargs, what=f"the kwargs of {deferred.method_name}"),
            timeout=deferred.timeout,
        )


@dataclass(frozen=True)
class Resume:
    """Where a deferred task resumes: ``method(context, **kwargs)``, kwargs decoded."""

    method: str
    kwargs: dict[str, Any]


@dataclass
class AttemptResult:
    """How one attempt ended, and what it produced."""

    outcome: Outcome
    return_value: Any = None
    follow: list[str] | None = None
    """For a branching task: the downstream task ids to run; the others are skipped."""
    skip: tuple[str, ...] = ()
    """Task ids below to skip now (a short circuit's, see :mod:`engine.authoring.skipping`)."""
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    retryable: bool = True
    timed_out: bool = False
    rendered: dict[str, Any] = field(default_factory=dict)
    map_length: int | None = None
    """The length of the return value, when a mapped downstream task expands over it."""
    reschedule_date: datetime | None = None
    """When a rescheduled sensor pokes next (``Outcome.RESCHEDULED`` only)."""
    deferral: Deferral | None = None
    """For a deferred try: its trigger and where it resumes."""


def render_task(task: BaseOperator, context: Mapping[str, Any]) -> BaseOperator:
    """A copy of ``task`` with its templated fields rendered and references resolved."""
    rendered = copy.copy(task)
    environment = environment_for(task.dag)
    for name in task.template_fields:
        where = f"{name} of task {task.task_id!r}"
        value = render_value(
            getattr(task, name),
            context,
            where=where,
            environment=environment,
            template_ext=task.template_ext,
        )
        setattr(rendered, name, value)
    return rendered


def run_attempt(
    task: BaseOperator,
    context: dict[str, Any],
    *,
    max_map_length: int = DEFAULT_MAX_MAP_LENGTH,
    resume: Resume | None = None,
) -> AttemptResult:
    """Run ``task`` once with ``context``; never raises for a failure of the task itself.

    A mapped task runs as its instance ``context["ti"].map_index``; a task that a mapped
    task expands over fails unless it returns a list or dict of at most
    ``max_map_length`` elements. A task that calls ``defer()`` ends ``deferred``; with
    ``resume``, a deferred task continues in its method instead of ``execute``.
    """
    mapped = isinstance(task, MappedOperator) or in_mapped_group(task)
    conditions = list(task.run_conditions)
    try:
        if isinstance(task, MappedOperator):
            map_index = context["ti"].map_index
            rendered = task.unmap_unrendered(context, map_index, lambda t: render_task(t, context))
            task = rendered
        else:
            rendered = render_task(task, context)
        context["task"] = rendered
        check_run_conditions(conditions, context)  # before on_execute, as Airflow's pre_execute
        run_callbacks(task.on_execute_callback, context, kind="on_execute")
        with execution_timeout(task.execution_timeout), current_context(context):
            rendered.pre_execute(context)  # on a resumed try too, as in Airflow
            if resume is None:
                value = rendered.execute(context)
            else:
                value = rendered.resume_execution(resume.method, resume.kwargs, context)
            rendered.post_execute(context, value)
        # After execute: a field set while running (@task.bash's command) shows as it ran.
        fields = {name: getattr(rendered, name) for name in task.template_fields}
        result = _finish(task, value, context["ti"], fields)
        if not mapped:  # a mapped task's instances are counted by their XComs instead
            result.map_length = checked_map_length(task, result.return_value, max_map_length)
        return result
    except TaskDeferred as exc:
        return _deferred(task, exc)
    except SkipTask as exc:
        logger.info("task %s skipped itself: %s", task.task_id, exc)
        return AttemptResult(Outcome.SKIPPED, error_message=str(exc) or None)
    except RescheduleTask as exc:
        return _rescheduled(task, exc)
    except TaskTimeout as exc:
        return failure_result(exc, timed_out=True)
    except FailTask as exc:
        return failure_result(exc, retryable=False)
    except TemplateError as exc:
        return failure_result(exc)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - any error in user code is the task's failure
        return failure_result(exc)


def _rescheduled(task: BaseOperator, exc: RescheduleTask) -> AttemptResult:
    """The task asked to run again at ``exc.reschedule_date``: an aware datetime, or the
    try fails naming the problem (the date is stored in UTC)."""
    when = exc.reschedule_date
    if not isinstance(when, datetime) or when.tzinfo is None:
        problem = ValueError(
            f"task {task.task_id!r} raised RescheduleTask with reschedule_date={when!r}: "
            "it must be a timezone-aware datetime"
        )
        return failure_result(problem, retryable=False)
    logger.info("task %s pokes again at %s", task.task_id, when.isoformat())
    return AttemptResult(Outcome.RESCHEDULED, reschedule_date=when)


def _deferred(task: BaseOperator, deferred: TaskDeferred) -> AttemptResult:
    try:
        deferral = Deferral.of(deferred)
    except TypeError as exc:  # a trigger argument JSON cannot hold: the try fails, named
        return failure_result(exc)
    logger.info("task %s deferred on %s", task.task_id, deferral.classpath)
    return AttemptResult(Outcome.DEFERRED, deferral=deferral)


def _finish(
    task: BaseOperator, value: Any, ti: TaskInstanceHandle, fields: dict[str, Any]
) -> AttemptResult:
    skip: tuple[str, ...] = ()
    if isinstance(value, DownstreamSkip):
        value, skip = value.value, value.task_ids
    follow = _branch_targets(task, value) if task.is_branch else None
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | list | tuple):
        value = list(value)  # a mapped task's values (a lazy sequence) returned as they are
    if task.do_xcom_push and value is not None:
        encoded(value, what=f"return value of task {task.task_id!r} (as XCom)")
        outputs = _multiple_outputs(task, value) if task.multiple_outputs else {}
        ti.xcom_push(RETURN_VALUE, value)
        for key, item in outputs.items():
            ti.xcom_push(key, item)
    return AttemptResult(
        Outcome.SUCCESS, return_value=value, follow=follow, skip=skip, rendered=fields
    )


def checked_map_length(task: BaseOperator, value: Any, limit: int) -> int | None:
    """The length of ``value`` when a mapped task expands over ``task``'s return value;
    raises when there is nothing to map over, or too much."""
    if task.dag is None or not _feeds_mapping(task.dag, task.task_id):
        return None
    if value is None:
        raise ValueError(f"task {task.task_id!r} did not push XCom for task mapping")
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | dict):
        raise TypeError(f"unmappable return type {type(value).__name__!r}")
    if len(value) > limit:
        raise ValueError(
            f"task {task.task_id!r} returned {len(value)} items to map over, more than "
            f"core.max_map_length ({limit})"
        )
    return len(value)


_FEEDS_MAPPING: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()


def _feeds_mapping(dag: Any, task_id: str) -> bool:
    """:func:`feeds_mapping`, answered once per task of a DAG object: it walks the whole
    DAG, and a worker's imported DAG (cached by file content) serves many tries."""
    known = _FEEDS_MAPPING.setdefault(dag, {})
    if task_id not in known:
        known[task_id] = feeds_mapping(dag, task_id)
    return known[task_id]


def _multiple_outputs(task: BaseOperator, value: Any) -> dict[str, Any]:
    """The XComs of a ``multiple_outputs`` return value: each key of the dict (as Airflow,
    a value that is not a dict with string keys fails the task)."""
    if not isinstance(value, dict):
        raise TypeError(
            f"task {task.task_id!r} has multiple_outputs, so it must return a dict; "
            f"it returned {type(value).__name__}"
        )
    bad = [key for key in value if not isinstance(key, str)]
    if bad:
        raise TypeError(
            f"task {task.task_id!r}: multiple_outputs keys must be strings, got {bad!r}"
        )
    return value


def _branch_targets(task: BaseOperator, value: Any) -> list[str]:
    """The task ids a branch chose: ``None`` or ``[]`` is none; a task group id stands for
    the group's root tasks (as in Airflow)."""
    chosen = [value] if isinstance(value, str) else list(value or [])
    chosen = [tid for item in chosen for tid in _group_roots(task, item)]
    unknown = [tid for tid in chosen if tid not in task.downstream_task_ids]
    if unknown:
        raise ValueError(
            f"branch task {task.task_id!r} chose {unknown}, which are not directly downstream "
            f"of it (downstream: {sorted(task.downstream_task_ids)})"
        )
    return chosen


def _group_roots(task: BaseOperator, chosen: Any) -> list[Any]:
    dag = task.dag
    if dag is None or not isinstance(chosen, str) or dag.has_task(chosen):
        return [chosen]
    group = dag.task_group.get_task_group_dict().get(chosen)
    return [chosen] if group is None else sorted(root.task_id for root in group.roots)


def failure_result(
    exc: BaseException, *, retryable: bool = True, timed_out: bool = False
) -> AttemptResult:
    """An attempt that failed with ``exc``, its message and traceback recorded."""
    if isinstance(exc, SystemExit):
        message = f"the task called sys.exit({exc.code!r})"
    else:
        message = str(exc) or type(exc).__name__
    return AttemptResult(
        Outcome.FAILED,
        error_type=type(exc).__name__,
        error_message=message,
        traceback="".join(traceback.format_exception(exc)),
        retryable=retryable,
        timed_out=timed_out,
    )


@contextmanager
def execution_timeout(limit: timedelta | None) -> Iterator[None]:
    """Raise :class:`TaskTimeout` inside the block once ``limit`` has passed.

    Uses ``SIGALRM``, so it only works in the main thread; elsewhere (where a worker
    enforces the limit by stopping the process) it does nothing.
    """
    if limit is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    seconds = limit.total_seconds()

    def on_alarm(signum: int, frame: object) -> None:
        raise TaskTimeout(f"execution_timeout of {limit} exceeded")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_callbacks(callbacks: list[Any], context: Mapping[str, Any], *, kind: str) -> None:
    """Call each callback with ``context``; an error is logged and changes nothing."""
    for callback in callbacks:
        try:
            callback(context)
        except Exception:
            logger.exception("%s callback %r raised; the task's state is unchanged", kind, callback)
