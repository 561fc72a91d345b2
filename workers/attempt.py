"""Running one claimed try in this process: import, context, execute, capture, time limit.

The task's ``execution_timeout`` is enforced by :func:`engine.execution.attempt.execution_timeout`
with ``SIGALRM``, which only the main thread of a process can receive. The runner is
meant to run there (an RQ work horse, a local executor's worker process). A thread other
than the main one cannot be interrupted at all in Python, so there the runner:

* warns when the try starts,
* records the try as timed out when it ends past its limit, whatever it returned (the
  same happens on the main thread to a task that caught ``TaskTimeout`` and went on),
* and stops the try's heartbeats shortly after the limit (see :mod:`workers.heartbeat`),
  so that a try that never ends is failed by the scheduler as a zombie; its late finish
  then loses the compare-and-set and changes nothing.

The import of the DAG file happens inside the log capture, so what it prints or raises
is part of the try's log, and under a time limit of its own (:func:`import_limit`): a file
that hangs on import fails the try (retryable, as a timeout) instead of hanging it forever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.dag import DAG
from engine.authoring.operators.isolated.environments import virtualenv_defaults
from engine.authoring.params import resolve_params
from engine.authoring.serialization import SerializedDAG
from engine.authoring.signals import TaskTimeout
from engine.authoring.xcomvalues import decode
from engine.errors import DagValidationError, InvalidInputError, NotFoundError
from engine.execution.assets import DATABASE_EVENTS, check_outlet_events
from engine.execution.attempt import (
    AttemptResult,
    Outcome,
    Resume,
    execution_timeout,
    failure_result,
    run_attempt,
)
from engine.execution.context import PreviousRun, TaskInstanceHandle, build_context
from engine.plugins.listeners import notify_listeners
from engine.plugins.loading import load_plugins
from engine.services.brokenfiles import PREFIX as BROKEN_PREFIX
from engine.services.runs import previous_successful_run
from engine.state import TaskInstanceState
from engine.trykey import try_key
from workers.claim import Claim
from workers.context import RunnerContext, RunnerSettings
from workers.logcapture import TailBuffer, capture_output
from workers.xcom import DatabaseXComStore

logger = logging.getLogger(__name__)


@dataclass
class AttemptRecord:
    """How a try ran: its result, log, and what callbacks and the finish need."""

    result: AttemptResult
    xcom: DatabaseXComStore
    log: str = ""
    log_truncated: bool = False
    log_start: int = 0
    """Where ``log`` starts in the try's whole output (the characters cut from its front)."""
    task: BaseOperator | None = None
    """The task as imported; None when the import failed."""
    context: dict[str, Any] = field(default_factory=dict)


def execute_attempt(claim: Claim, log: TailBuffer, *, ctx: RunnerContext) -> AttemptRecord:
    """Import the task and run it once, capturing its output into ``log``; never raises for
    its failure."""
    store = DatabaseXComStore(ctx.session_factory, max_bytes=ctx.settings.max_xcom_bytes)
    with capture_output(log):
        record = _run(claim, store, ctx=ctx)
        if record.result.traceback:
            log.write(record.result.traceback)
        _note_end(record.result, log)
    kept = log.snapshot()
    record.log, record.log_truncated, record.log_start = kept.text, kept.truncated, kept.start
    return record


def _run(claim: Claim, store: DatabaseXComStore, *, ctx: RunnerContext) -> AttemptRecord:
    try:
        dag, task, resume = _import_task(claim, ctx=ctx)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - user code (the DAG file) failed: the try fails
        return AttemptRecord(_import_failure(exc, claim), store)
    try:
        params = resolve_params(
            {**dag.params, **task.params},
            claim.run.conf,
            conf_overrides=ctx.settings.dag_run_conf_overrides_params,
        )
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the run's conf does not fit: the try fails
        return AttemptRecord(failure_result(exc), store)
    handle = TaskInstanceHandle(
        **try_key(claim),
        max_tries=claim.max_tries,
        xcom=store,
        mapped_task_ids=MappedTasks(claim.dag),
        group_task_ids=claim.dag.same_mapped_group(claim.task_id),
        first_poke_at=claim.first_poke_at,
        poke_count=claim.poke_count,
    )
    context = build_context(
        dag=dag,
        task=task,
        run=claim.run,
        ti=handle,
        params=params,
        previous_success=lambda: previous_success(claim, ctx=ctx),
        asset_events=DATABASE_EVENTS,
    )
    notify_listeners(claim.event(TaskInstanceState.RUNNING, previous=TaskInstanceState.QUEUED))
    _warn_if_uninterruptible(claim, task.execution_timeout)
    started = time.monotonic()
    with virtualenv_defaults(ctx.settings.virtualenv):
        result = run_attempt(
            task, context, max_map_length=ctx.settings.max_map_length, resume=resume
        )
    result = enforce_timeout(result, task.execution_timeout, time.monotonic() - started)
    return AttemptRecord(checked_events(result, context), store, task=task, context=context)


def import_limit(claim: Claim, settings: RunnerSettings) -> tuple[timedelta, str]:
    """How long importing the try's DAG file may take, and which setting says so: the
    task's ``execution_timeout`` as the parser recorded it (the imported task's own is only
    known once the import is done), else ``core.parse_timeout``."""
    if claim.task.execution_timeout is not None:
        return claim.task.execution_timeout, "the task's execution_timeout"
    return settings.parse_timeout, "core.parse_timeout"


def _import_task(claim: Claim, *, ctx: RunnerContext) -> tuple[DAG, BaseOperator, Resume | None]:
    """Plugins, the DAG file and a deferral's resume arguments (user code, all of it),
    imported under :func:`import_limit`: a file that hangs on import fails the try rather
    than hanging it while its heartbeats go on."""
    limit, source = import_limit(claim, ctx.settings)
    try:
        with execution_timeout(limit):
            load_plugins(ctx.settings.plugins_folder)  # a broken plugin fails the try, named
            dag, task = ctx.dag_cache.get_task(
                claim.fileloc, claim.dag_id, claim.task_id, dags_folder=ctx.settings.dags_folder
            )
            resume = _resume(claim)  # decoding may import a dataclass's module: user code
    except TaskTimeout as exc:
        raise TaskTimeout(f"importing {claim.fileloc} took longer than {limit} ({source})") from exc
    return dag, task, resume


def checked_events(result: AttemptResult, context: dict[str, Any]) -> AttemptResult:
    """``result``, or a failure when a success's outlet events cannot be written."""
    if result.outcome is not Outcome.SUCCESS:
        return result
    try:
        check_outlet_events(context.get("outlet_events"))
    except InvalidInputError as exc:
        return failure_result(exc, retryable=False)
    return result


def _resume(claim: Claim) -> Resume | None:
    """Where a try that resumes from a deferral continues (None: in ``execute``)."""
    if claim.next_method is None:
        return None
    return Resume(claim.next_method, decode(claim.next_kwargs or {}))


@dataclass(frozen=True)
class MappedTasks(Container[str]):
    """The mapped tasks of the run's graph, asked task by task: a try pulls a few XComs,
    so it does not copy the ids out of a graph of possibly thousands of tasks."""

    dag: SerializedDAG

    def __contains__(self, task_id: object) -> bool:
        task = self.dag.tasks.get(task_id) if isinstance(task_id, str) else None
        return task is not None and task.mapped is not None


def previous_success(claim: Claim, *, ctx: RunnerContext) -> PreviousRun | None:
    """The run's previous successful run, read when a task uses a ``prev_*_success`` key."""
    with ctx.session_factory() as session:
        found = previous_successful_run(
            session=session, dag_id=claim.dag_id, logical_date=claim.run.logical_date
        )
        if found is None:
            return None
        return PreviousRun(
            data_interval_start=found.data_interval_start,
            data_interval_end=found.data_interval_end,
            start_date=found.start_date,
            end_date=found.end_date,
        )


def enforce_timeout(result: AttemptResult, limit: timedelta | None, ran: float) -> AttemptResult:
    """``result``, or a timed-out failure when the try ran past ``limit`` without failing."""
    if limit is None or ran <= limit.total_seconds() or result.outcome is Outcome.FAILED:
        return result
    exc = TaskTimeout(
        f"execution_timeout of {limit} exceeded: the task ran {ran:.1f}s and was not "
        "interrupted (it caught the timeout, or it did not run in the main thread)"
    )
    return AttemptResult(
        Outcome.FAILED,
        error_type=type(exc).__name__,
        error_message=str(exc),
        timed_out=True,
        rendered=result.rendered,
    )


def stop_heartbeat_at(limit: timedelta | None, interval: timedelta) -> float | None:
    """When (``time.monotonic()``) a try with ``limit`` stops heartbeating: the limit plus
    two heartbeat intervals, time enough for an interrupted try to finish normally."""
    if limit is None:
        return None
    return time.monotonic() + (limit + 2 * interval).total_seconds()


def _import_failure(exc: BaseException, claim: Claim) -> AttemptResult:
    """The failed try of a DAG file that could not be imported: "DAG file does not import:"
    and the error's first line (the whole traceback is in the log). A file or task that is
    gone, or an import that hung, says so instead."""
    result = failure_result(exc)
    if isinstance(exc, SystemExit):
        result.error_message = f"the DAG file called sys.exit({exc.code!r}) while being imported"
    elif isinstance(exc, NotFoundError):
        if claim.dag_version is not None:
            result.error_message = (
                f"{result.error_message}: the run is on version {claim.dag_version} of the "
                "DAG, which has the task, but workers run the DAG file's current code"
            )
        return result
    elif isinstance(exc, TaskTimeout):
        return result
    first = (result.error_message or "").strip().splitlines()[:1] or [""]
    named = first[0] if isinstance(exc, DagValidationError) else f"{result.error_type}: {first[0]}"
    result.error_message = f"{BROKEN_PREFIX}: {named}"
    return result


def _warn_if_uninterruptible(claim: Claim, limit: timedelta | None) -> None:
    if limit is not None and threading.current_thread() is not threading.main_thread():
        logger.warning(
            "%s runs outside the main thread: its execution_timeout of %s cannot interrupt "
            "it; a try past the limit is recorded as timed out when it ends",
            claim.describe(), limit,
        )  # fmt: skip


def _note_end(result: AttemptResult, log: TailBuffer) -> None:
    if result.outcome is Outcome.FAILED:
        log.write(f"Task failed: {result.error_type}: {result.error_message}\n")
    elif result.reschedule_date is not None:
        log.write(f"Task rescheduled: next poke at {result.reschedule_date.isoformat()}\n")
    else:
        log.write(f"Task {result.outcome.value}\n")
