"""The task runner: one delivered try, from claim to fast-follow.

:func:`run_task` is what a worker calls with a job's ``(ti_id, try_number)``::

    claim (CAS queued → running, committed)
    → heartbeat and log-streaming threads ─┐
    → import the DAG file (cached by hash), run the attempt under its execution_timeout,
      stdout / stderr / logging captured (and streamed), XCom held back
    → the log stream stops; the finish (heartbeats still going) in one transaction: CAS to
      success | skipped | up_for_retry | failed | up_for_reschedule (a sensor's poke found
      nothing; its next poke continues the try),
      attempt row (log, rendered fields, error), XCom, dead letter, fast-follow; retried
      while the database is unreachable (:mod:`workers.durablefinish`) → heartbeats stop ─┘
    → after commit: submit fast-follow jobs, upload a finished try's log when remote
      logging is on (:mod:`workers.remotelog`; the whole log, spooled to a temporary file
      while the try ran, :mod:`workers.logspool`, deleted then), run the task's callbacks,
      tell plugins' listeners

Retries are not submitted from here: the scheduler promotes due ``up_for_retry`` tries.
Call it in the main thread of its process (see :mod:`workers.attempt` on timeouts).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from engine.execution.attempt import run_callbacks
from engine.executors.base import TaskJob, job_ids
from engine.plugins.listeners import notify_listeners
from engine.runtime.processlog import try_ids
from engine.state import TaskInstanceState
from engine.trykey import try_key
from workers.attempt import AttemptRecord, execute_attempt, import_limit, stop_heartbeat_at
from workers.claim import Claim, claim_try
from workers.context import RunnerContext
from workers.durablefinish import finish_durably
from workers.heartbeat import Heartbeat
from workers.logcapture import TailBuffer
from workers.logspool import LogSpool
from workers.logstream import LogStreamer
from workers.remotelog import offload_log

logger = logging.getLogger(__name__)

TI = TaskInstanceState

_CALLBACKS = {
    TI.SUCCESS: "on_success",
    TI.UP_FOR_RETRY: "on_retry",
    TI.FAILED: "on_failure",
    TI.SKIPPED: "on_skipped",  # only a task that skipped itself reaches the worker's finish
}


def run_task(ti_id: int, try_number: int, *, ctx: RunnerContext) -> TaskInstanceState | None:
    """Run try ``try_number`` of task instance ``ti_id``; returns the state it ended in.

    None means this call changed nothing: the delivery was a duplicate or stale (the
    claim was lost), or the try was taken away while it ran (the finish was lost).
    """
    claim = claim_try(ti_id, try_number, ctx=ctx)
    if claim is None:
        return None
    with try_ids(**try_key(claim)):
        return _run_claimed(claim, ctx=ctx)


def _run_claimed(claim: Claim, *, ctx: RunnerContext) -> TaskInstanceState | None:
    logger.info("running %s on %s (pid %s)", claim.describe(), ctx.hostname, ctx.pid)
    heartbeat = Heartbeat(
        session_factory=ctx.session_factory,
        ti_id=claim.ti_id,
        try_number=claim.try_number,
        interval=ctx.settings.heartbeat_interval,
        clock=ctx.clock,
        stop_at=stop_heartbeat_at(_time_limit(claim, ctx=ctx), ctx.settings.heartbeat_interval),
    )
    spool = _spool(ctx)
    try:
        return _run_spooled(claim, heartbeat, spool, ctx=ctx)
    finally:
        if spool is not None:
            spool.close()


def _spool(ctx: RunnerContext) -> LogSpool | None:
    """Where the whole log goes while the try runs, when it is to be uploaded."""
    remote = ctx.remote_logs
    if remote is None:
        return None
    try:
        return LogSpool(remote.max_bytes, directory=remote.spool_dir)
    except OSError as exc:
        logger.warning("no log spool (%s): only the log's last core.max_log_bytes go up", exc)
        return None


def _run_spooled(
    claim: Claim, heartbeat: Heartbeat, spool: LogSpool | None, *, ctx: RunnerContext
) -> TaskInstanceState | None:
    log = TailBuffer(ctx.settings.max_log_bytes, clock=ctx.clock, spool=spool)
    if claim.earlier_log is not None:
        log.resume(claim.earlier_log)
    streamer = LogStreamer(
        session_factory=ctx.session_factory,
        ti_id=claim.ti_id,
        try_number=claim.try_number,
        buffer=log,
        interval=ctx.settings.log_stream_interval,
    )
    with heartbeat:
        with streamer:
            record = execute_attempt(claim, log, ctx=ctx)
        # Beats go on while the finish waits out a database outage, so that the try is
        # not declared a zombie meanwhile; they end with the finish.
        heartbeat.attempt_ended()
        state, jobs = finish_durably(claim, record, ctx=ctx)
    if state is None:
        return None
    logger.info("%s finished: %s", claim.describe(), state)
    _submit(jobs, ctx=ctx)
    if ctx.remote_logs is not None:
        offload_log(claim, state, record, spool, ctx=ctx)
    if spool is not None:
        spool.close()  # uploaded or not, the file is of no more use
    _run_callbacks(state, record)
    notify_listeners(claim.event(state, previous=TI.RUNNING, error=_error(state, record)))
    return state


def _time_limit(claim: Claim, *, ctx: RunnerContext) -> timedelta | None:
    """The longest a try with an ``execution_timeout`` may take: its import, then its run."""
    limit = claim.task.execution_timeout
    return None if limit is None else import_limit(claim, ctx.settings)[0] + limit


def _submit(jobs: list[TaskJob], *, ctx: RunnerContext) -> None:
    if ctx.executor is None or not jobs:
        return
    try:
        ctx.executor.submit_many(jobs)  # a fan-out's batch: one Redis transaction with RQ
    except Exception:
        # The tries are queued in the database; the scheduler's reconciliation re-submits them.
        logger.exception("fast-follow: submitting %s jobs failed: %s", len(jobs), job_ids(jobs))


def _error(state: TaskInstanceState, record: AttemptRecord) -> str | None:
    if state in (TI.SUCCESS, TI.SKIPPED, TI.DEFERRED):
        return None
    return f"{record.result.error_type}: {record.result.error_message}"


def _run_callbacks(state: TaskInstanceState, record: AttemptRecord) -> None:
    kind = _CALLBACKS.get(state)
    if kind is None or record.task is None:
        return
    context = record.context
    if state is not TI.SUCCESS:
        context["exception"] = f"{record.result.error_type}: {record.result.error_message}"
    callbacks = getattr(record.task, f"{kind}_callback")
    run_callbacks(callbacks, context, kind=kind)
