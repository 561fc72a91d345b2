"""Finishing a try in one transaction: outcome, attempt row, XCom, dead letter, fast-follow,
and a wake-up for the scheduler when the fast-follow queued nothing.

All of it commits together or not at all. When the task instance is no longer running
this try (the scheduler declared it a zombie, someone marked it), the finish loses its
compare-and-set and nothing of the try is written.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.assets import Asset
from engine.authoring.serialization import to_jsonable
from engine.config.masking import redact_secrets_in
from engine.delivery.notifications import emit
from engine.delivery.notifications.events import EventType
from engine.delivery.notifications.routing import task_route
from engine.errors import ConflictError
from engine.execution.assets import outlet_events_of
from engine.execution.attempt import Outcome
from engine.execution.deferral import record_deferral
from engine.execution.outcomes import (
    AttemptDetails,
    end_attempt,
    record_failure,
    record_finish,
    record_reschedule,
)
from engine.execution.trysql import success_statement
from engine.executors.base import TaskJob
from engine.metrics import instruments
from engine.models import TaskInstance, TaskMap
from engine.scheduling import BRANCH_XCOM_KEY, Limits
from engine.scheduling.skips import skip_tasks
from engine.scheduling.wakeup import request_wake
from engine.services.assets import EventSource, record_outlet_events
from engine.state import TaskInstanceState
from workers.attempt import AttemptRecord
from workers.claim import Claim
from workers.context import RunnerContext
from workers.followup import fast_follow

logger = logging.getLogger(__name__)

TI = TaskInstanceState


def finish_try(
    claim: Claim, record: AttemptRecord, *, ctx: RunnerContext
) -> tuple[TaskInstanceState | None, list[TaskJob]]:
    """Record the try's outcome (committed); returns the new state (None when the finish
    lost its compare-and-set) and the fast-follow jobs to submit."""
    now = ctx.clock()
    with ctx.session_factory() as session:
        try:
            with session.begin():
                if _lean(session, claim, record):
                    state, started, run_pk = _record_success_lean(session, claim, record, now=now)
                else:
                    ti = _running_ti(session, claim)
                    started, run_pk = ti.start_date or now, ti.dag_run_id
                    state = _record_outcome(session, ti, claim, record, now=now, ctx=ctx)
                jobs = _fast_follow(session, state, run_pk, claim, now=now, ctx=ctx)
                if not jobs:
                    # A slot is free, the run may be done or something waits elsewhere:
                    # the scheduler acts now. A fast-follow that queued the next task
                    # needs no tick (a chain runs without waking it).
                    request_wake(session=session)
        except ConflictError as exc:
            logger.warning("%s: finish discarded: %s", claim.describe(), exc)
            return None, []
    _count(state, (now - started).total_seconds())
    return state, jobs if state is TI.SUCCESS else []


OUTCOME_OF_STATE = {
    TI.SUCCESS: "success",
    TI.UP_FOR_RETRY: "retry",
    TI.SKIPPED: "skipped",
    TI.UP_FOR_RESCHEDULE: "reschedule",
    TI.DEFERRED: "deferred",
}


def _count(state: TaskInstanceState, seconds: float) -> None:
    outcome = OUTCOME_OF_STATE.get(state, "failed")
    counted = instruments.get()
    counted.task_attempts.labels(outcome).inc()
    counted.task_duration.labels(outcome).observe(max(seconds, 0.0))


def _running_ti(session: Session, claim: Claim) -> TaskInstance:
    ti = session.get(TaskInstance, claim.ti_id, populate_existing=True)
    if ti is None or ti.state is not TI.RUNNING or ti.try_number != claim.try_number:
        now_at = "gone" if ti is None else f"{ti.state} at try {ti.try_number}"
        raise ConflictError(f"the task instance is no longer running this try ({now_at})")
    return ti


def record_map_length(*, session: Session, claim: Claim, length: int) -> None:
    """Keep the length of the return value a mapped downstream task expands over."""
    key = {"dag_id": claim.dag_id, "run_id": claim.run_id, "task_id": claim.task_id}
    session.execute(sa.delete(TaskMap).filter_by(**key, map_index=claim.map_index))
    session.add(TaskMap(**key, map_index=claim.map_index, length=length))


def record_asset_events(
    *, session: Session, claim: Claim, record: AttemptRecord, now: datetime
) -> None:
    """An event per outlet of the run's task (and per asset added through an alias), in
    the transaction of the success: a consumer is queued exactly when the task succeeded."""
    outlets = claim.task.outlets
    if not outlets:
        return
    record_outlet_events(
        session=session,
        outlets=[item for item in outlets if isinstance(item, Asset)],
        events=outlet_events_of(record.context.get("outlet_events")),
        source=EventSource(claim.dag_id, claim.run_id, claim.task_id, claim.map_index),
        now=now,
    )


def _record_outcome(
    session: Session,
    ti: TaskInstance,
    claim: Claim,
    record: AttemptRecord,
    *,
    now: datetime,
    ctx: RunnerContext,
) -> TaskInstanceState:
    result = record.result
    details = _details(record)
    if result.outcome is Outcome.SUCCESS:
        if result.follow is not None:
            record.xcom.set(
                claim.dag_id, claim.run_id, claim.task_id, BRANCH_XCOM_KEY, result.follow,
                claim.map_index,
            )  # fmt: skip
        _write_xcoms(session, claim, record)
        if result.map_length is not None:
            record_map_length(session=session, claim=claim, length=result.map_length)
        record_asset_events(session=session, claim=claim, record=record, now=now)
        record_finish(
            session=session, ti=ti, task=claim.task, state=TI.SUCCESS, now=now, details=details
        )
        skip_tasks(session=session, dag_run_id=ti.dag_run_id, task_ids=result.skip, now=now)
        return TI.SUCCESS
    if result.outcome is Outcome.DEFERRED and result.deferral is not None:
        _write_xcoms(session, claim, record)  # pushed before deferring: kept, as Airflow's
        record_deferral(session=session, ti=ti, deferral=result.deferral, now=now, details=details)
        return TI.DEFERRED
    if result.outcome is Outcome.SKIPPED:
        record_finish(
            session=session, ti=ti, task=claim.task, state=TI.SKIPPED, now=now, details=details
        )
        return TI.SKIPPED
    if result.outcome is Outcome.RESCHEDULED and result.reschedule_date is not None:
        record_reschedule(
            session=session, ti=ti, reschedule_date=result.reschedule_date, now=now,
            details=details,
        )  # fmt: skip
        return TI.UP_FOR_RESCHEDULE
    return record_failure(
        session=session,
        ti=ti,
        task=claim.task,
        error_type=result.error_type or "Error",
        message=result.error_message or "the task failed",
        traceback=result.traceback,
        now=now,
        rng=ctx.rng,
        retryable=result.retryable,
        details=details,
    )


def _write_xcoms(session: Session, claim: Claim, record: AttemptRecord) -> None:
    record.xcom.write(
        session=session,
        dag_id=claim.dag_id,
        run_id=claim.run_id,
        task_id=claim.task_id,
        map_index=claim.map_index,
        resumed=claim.next_method is not None,
    )


def _fast_follow(
    session: Session,
    state: TaskInstanceState,
    dag_run_id: int,
    claim: Claim,
    *,
    now: datetime,
    ctx: RunnerContext,
) -> list[TaskJob]:
    """Only after a success, and only with an executor to submit to (else the tick does it)."""
    if state is not TI.SUCCESS or ctx.executor is None:
        return []
    limits = Limits(parallelism=ctx.settings.parallelism)
    return fast_follow(
        session=session, dag_run_id=dag_run_id, task_id=claim.task_id, dag=claim.dag,
        limits=limits, now=now,
    )  # fmt: skip


def _lean(session: Session, claim: Claim, record: AttemptRecord) -> bool:
    """A success on PostgreSQL (the common finish) takes :func:`_record_success_lean`."""
    return (
        record.result.outcome is Outcome.SUCCESS
        and claim.started_at is not None
        and session.get_bind().dialect.name == "postgresql"
    )


def _record_success_lean(
    session: Session, claim: Claim, record: AttemptRecord, *, now: datetime
) -> tuple[TaskInstanceState, datetime, int]:
    """:func:`_record_outcome`'s success in one statement for the state, the attempt row
    and the XComs (:func:`engine.execution.trysql.success_statement`); the rarer parts (map
    length, asset events, skips, an opted-in notification) follow as before."""
    result = record.result
    if result.follow is not None:
        record.xcom.set(
            claim.dag_id, claim.run_id, claim.task_id, BRANCH_XCOM_KEY, result.follow,
            claim.map_index,
        )  # fmt: skip
    started = claim.started_at or now
    stmt = success_statement(
        ti_id=claim.ti_id,
        try_number=claim.try_number,
        now=now,
        duration=(now - started).total_seconds(),
        details=_details(record),
        xcom_key=(claim.dag_id, claim.run_id, claim.task_id, claim.map_index),
        xcoms=record.xcom.pending_of(claim.dag_id, claim.run_id, claim.task_id, claim.map_index),
        resumed=claim.next_method is not None,
    )
    row = session.connection().execute(*stmt).one_or_none()
    if row is None:
        raise ConflictError("the task instance is no longer running this try")
    logger.info(
        "task instance %s (%s.%s.%s try %s): running -> success",
        claim.ti_id, claim.dag_id, claim.run_id, claim.task_id, claim.try_number,
    )  # fmt: skip
    if not row.attempts_ended or task_route(claim.task, EventType.TASK_SUCCEEDED) is not None:
        ti = session.get_one(TaskInstance, claim.ti_id)
        if not row.attempts_ended:  # no attempt row (cleared meanwhile): write one
            end_attempt(session=session, ti=ti, state=TI.SUCCESS, now=now, details=_details(record))
        emit.task_succeeded(session=session, ti=ti, task=claim.task, now=now)
    if result.map_length is not None:
        record_map_length(session=session, claim=claim, length=result.map_length)
    record_asset_events(session=session, claim=claim, record=record, now=now)
    skip_tasks(session=session, dag_run_id=row.dag_run_id, task_ids=result.skip, now=now)
    return TI.SUCCESS, started, int(row.dag_run_id)


def _details(record: AttemptRecord) -> AttemptDetails:
    return AttemptDetails(
        log=record.log,
        log_truncated=record.log_truncated,
        rendered=redact_secrets_in(to_jsonable(record.result.rendered)),  # shown in the UI
        log_start=record.log_start,
    )
