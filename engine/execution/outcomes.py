"""How a try of a task instance ends: the outcomes the runner and the scheduler share.

* :func:`record_failure`: ``up_for_retry`` (with ``next_retry_at``) while tries remain,
  else ``failed`` plus a dead letter. The runner calls it for a failed attempt, the
  scheduler for a zombie (error type ``Zombie``); it never assumes the caller is the
  process that ran the try.
* :func:`record_zombie`: :func:`record_failure` of a try whose worker stopped heartbeating.
* :func:`record_finish`: ``success`` or ``skipped``.
* :func:`record_reschedule`: a rescheduling sensor's poke found nothing: ``up_for_reschedule``
  until its next poke, in the same try (no retry used, no alert, no dead letter).

Both write the alert events of the outcome (:mod:`engine.delivery.notifications.emit`) in the
same transaction: ``task.retrying``, or ``task.failed`` and ``dead_letter.created``, or
``task.succeeded`` when the task opted in.
* :func:`start_attempt` / :func:`end_attempt`: the :class:`TaskAttempt` row of a try.

Each outcome is a compare-and-set on ``(state, try_number)`` of the task instance as the
caller loaded it; when the row has moved on, :class:`ConflictError` is raised and the
caller rolls back. Nothing here commits.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedTask
from engine.delivery.notifications import emit
from engine.errors import ConflictError
from engine.execution.retries import retry_delay_for
from engine.models import TaskAttempt, TaskInstance
from engine.models.transitions import set_task_state
from engine.services.deadletters import record_dead_letter
from engine.state import ACTIVE, TaskInstanceState

logger = logging.getLogger(__name__)

TI = TaskInstanceState

RESUME_CLEARED: dict[str, Any] = {
    "trigger_id": None,
    "next_method": None,
    "next_kwargs": None,
    "trigger_timeout": None,
}
"""A deferral's columns as a try that ends leaves them: the next try starts in ``execute``."""

ENDABLE = ACTIVE | {TaskInstanceState.DEFERRED}
"""States a try can end from: holding a slot, or waiting on its trigger."""

ZOMBIE_ERROR = "Zombie"
"""``error_type`` of a try whose worker stopped heartbeating."""


@dataclass(frozen=True)
class AttemptDetails:
    """What the process that ran a try knows of it: its captured log, rendered fields."""

    log: str | None
    log_truncated: bool
    rendered: dict[str, Any]
    log_start: int = 0
    """Where ``log`` starts in the try's whole output (the characters cut from its front)."""


def record_failure(
    *,
    session: Session,
    ti: TaskInstance,
    task: SerializedTask,
    error_type: str,
    message: str,
    traceback: str | None,
    now: datetime,
    rng: random.Random | None = None,
    retryable: bool = True,
    details: AttemptDetails | None = None,
) -> TaskInstanceState:
    """End ``ti``'s current try as failed; returns ``up_for_retry`` or ``failed``.

    ``ti`` must be ``queued``, ``running`` or ``deferred`` at its current ``try_number``.
    While tries remain (``try_number < max_tries``) and ``retryable`` is true (a task that raised
    ``FailTask`` is not), the next try is due at ``now`` + the task's backoff
    (:func:`engine.execution.retries.retry_delay_for`); otherwise the failure is final and a dead
    letter is recorded in the same transaction.
    Raises :class:`ConflictError` when the row has moved on.
    """
    if retryable and ti.try_number < ti.max_tries:
        delay = retry_delay_for(
            max(ti.try_number, 1),
            retry_delay=task.retry_delay,
            exponential=task.retry_exponential_backoff,
            max_retry_delay=task.max_retry_delay,
            rng=rng,
        )
        new = TI.UP_FOR_RETRY
        _move(session, ti, new, now=now, next_retry_at=now + delay)
        emit.task_retrying(
            session=session, ti=ti, task=task, error_type=error_type, message=message, now=now
        )
    else:
        new = TI.FAILED
        _move(session, ti, new, now=now)
        dead_letter = record_dead_letter(
            session=session,
            ti=ti,
            dag_run=ti.dag_run,
            error_type=error_type,
            message=message,
            traceback=traceback,
            worker_host=ti.hostname,
            now=now,
        )
        emit.task_failed(
            session=session, ti=ti, task=task, error_type=error_type, message=message,
            dead_letter_id=dead_letter.id, now=now,
        )  # fmt: skip
    end_attempt(
        session=session,
        ti=ti,
        state=new,
        now=now,
        error_type=error_type,
        message=message,
        traceback=traceback,
        details=details,
    )
    return new


def record_zombie(
    *,
    session: Session,
    ti: TaskInstance,
    task: SerializedTask,
    message: str,
    now: datetime,
    rng: random.Random | None = None,
) -> TaskInstanceState:
    """End ``ti``'s try as failed because its worker stopped heartbeating: a failure of
    error type ``Zombie``, without a traceback (see :func:`record_failure`)."""
    return record_failure(
        session=session, ti=ti, task=task, error_type=ZOMBIE_ERROR, message=message,
        traceback=None, now=now, rng=rng,
    )  # fmt: skip


def record_finish(
    *,
    session: Session,
    ti: TaskInstance,
    task: SerializedTask,
    state: TaskInstanceState,
    now: datetime,
    details: AttemptDetails | None = None,
) -> None:
    """End ``ti``'s running try as ``success`` or ``skipped`` (:class:`ConflictError` if lost)."""
    if state not in (TI.SUCCESS, TI.SKIPPED):
        raise ValueError(f"record_finish ends a try as success or skipped, not {state}")
    _move(session, ti, state, now=now)
    end_attempt(session=session, ti=ti, state=state, now=now, details=details)
    if state is TI.SUCCESS:
        emit.task_succeeded(session=session, ti=ti, task=task, now=now)


def record_reschedule(
    *,
    session: Session,
    ti: TaskInstance,
    reschedule_date: datetime,
    now: datetime,
    details: AttemptDetails | None = None,
) -> None:
    """End ``ti``'s running poke as ``up_for_reschedule`` until ``reschedule_date``, noting
    its first poke (the try's start) when this was the first (:class:`ConflictError` if lost).

    The try stays open: the next poke runs at the same ``try_number`` (as in Airflow 3), so
    a reschedule uses none of the task's retries and fires no callback or alert.
    """
    _move(
        session, ti, TI.UP_FOR_RESCHEDULE, now=now,
        next_poke_at=max(reschedule_date, now),
        first_poke_at=ti.first_poke_at or ti.start_date or now,
        poke_count=ti.poke_count + 1,
    )  # fmt: skip
    end_attempt(session=session, ti=ti, state=TI.UP_FOR_RESCHEDULE, now=now, details=details)


def start_attempt(
    *, session: Session, ti: TaskInstance, now: datetime, hostname: str | None, pid: int | None
) -> TaskAttempt:
    """The attempt row of ``ti``'s current try, marked running (created when absent)."""
    attempt = attempt_of(session=session, ti_id=ti.id, try_number=ti.try_number)
    if attempt.state != TI.UP_FOR_RESCHEDULE.value:  # a sensor's later poke: the try goes on
        attempt.start_date = now
    attempt.state = TI.RUNNING.value
    attempt.hostname = hostname
    attempt.pid = pid
    session.flush()
    return attempt


def end_attempt(
    *,
    session: Session,
    ti: TaskInstance,
    state: TaskInstanceState,
    now: datetime,
    error_type: str | None = None,
    message: str | None = None,
    traceback: str | None = None,
    details: AttemptDetails | None = None,
) -> TaskAttempt:
    """Record how ``ti``'s current try ended on its attempt row (created when absent),
    with the runner's ``details`` (log, rendered fields) when it has them."""
    attempt = attempt_of(session=session, ti_id=ti.id, try_number=ti.try_number)
    if details is not None:
        attempt.log, attempt.log_truncated = details.log, details.log_truncated
        attempt.log_start = details.log_start
        attempt.rendered = details.rendered
    attempt.state = state.value
    attempt.end_date = now
    attempt.error_type = error_type
    attempt.error_message = message
    attempt.traceback = traceback
    if attempt.start_date is None:
        attempt.start_date = ti.start_date
    if attempt.hostname is None:
        attempt.hostname, attempt.pid = ti.hostname, ti.pid
    session.flush()
    return attempt


def attempt_of(*, session: Session, ti_id: int, try_number: int) -> TaskAttempt:
    """The attempt row of try ``try_number`` of ``ti_id``, added to the session when absent."""
    stmt = sa.select(TaskAttempt).where(
        TaskAttempt.task_instance_id == ti_id, TaskAttempt.try_number == try_number
    )
    attempt = session.scalars(stmt).one_or_none()
    if attempt is None:
        attempt = TaskAttempt(task_instance_id=ti_id, try_number=try_number, state=TI.NONE.value)
        session.add(attempt)
    return attempt


def _move(
    session: Session,
    ti: TaskInstance,
    new: TaskInstanceState,
    *,
    now: datetime,
    **values: Any,
) -> None:
    expected = ti.state
    if expected not in ENDABLE:
        raise ConflictError(_lost(ti, new, f"it is {expected}"))
    duration = (now - ti.start_date).total_seconds() if ti.start_date else None
    won = set_task_state(
        session=session,
        ti_id=ti.id,
        expected=expected,
        new=new,
        try_number=ti.try_number,
        end_date=now,
        duration=duration,
        **RESUME_CLEARED,
        **values,
    )
    if not won:
        raise ConflictError(_lost(ti, new, "the row moved on"))
    # The compare-and-set synchronised ``ti`` in the session: no reload needed.


def _lost(ti: TaskInstance, new: TaskInstanceState, why: str) -> str:
    return (
        f"task instance {ti.dag_id}.{ti.run_id}.{ti.task_id} try {ti.try_number} "
        f"cannot become {new}: {why}"
    )
