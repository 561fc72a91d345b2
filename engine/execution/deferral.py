"""How a deferral starts and ends in the database: the moves the worker, the triggerer
and the scheduler share.

* :func:`record_deferral` (worker): insert the trigger and move ``running → deferred``
  in the caller's transaction. Not a failure: no retry is used, no callback runs.
* :func:`resume_deferred` (triggerer): the trigger fired: ``deferred → scheduled`` with
  the event's payload in ``next_kwargs["event"]``, and the trigger row deleted. The try
  number goes back by one so that the queueing step (which adds one) resumes the *same*
  try, as in Airflow: a deferral is not a try.
* :func:`fail_deferred` (scheduler on a timeout, triggerer when a trigger raised): the
  try fails as any try does (``up_for_retry`` while tries remain, else ``failed``).

Every move is a compare-and-set on ``(state, try_number)``; nothing here commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedTask
from engine.authoring.triggers.base import TaskDeferralTimeout
from engine.errors import ConflictError
from engine.execution.attempt import Deferral
from engine.execution.outcomes import AttemptDetails, end_attempt, record_failure
from engine.models import TaskInstance, Trigger
from engine.models.transitions import set_task_state
from engine.services.dagversions import load_run_dags
from engine.state import TaskInstanceState

logger = logging.getLogger(__name__)

TI = TaskInstanceState


def record_deferral(
    *,
    session: Session,
    ti: TaskInstance,
    deferral: Deferral,
    now: datetime,
    details: AttemptDetails | None = None,
) -> Trigger:
    """Park ``ti``'s running try on a new trigger (:class:`ConflictError` when lost)."""
    trigger = Trigger(classpath=deferral.classpath, kwargs=deferral.trigger_kwargs, created_at=now)
    session.add(trigger)
    session.flush()
    won = set_task_state(
        session=session,
        ti_id=ti.id,
        expected=TI.RUNNING,
        new=TI.DEFERRED,
        try_number=ti.try_number,
        trigger_id=trigger.id,
        next_method=deferral.method_name,
        next_kwargs=deferral.method_kwargs or {},
        trigger_timeout=None if deferral.timeout is None else now + deferral.timeout,
        hostname=None,
        pid=None,
    )
    if not won:
        raise ConflictError(f"task instance {ti.id} try {ti.try_number} is no longer running")
    end_attempt(session=session, ti=ti, state=TI.DEFERRED, now=now, details=details)
    return trigger


def resume_deferred(*, session: Session, trigger_id: int, payload: Any, now: datetime) -> int:
    """Move the instances waiting on ``trigger_id`` to ``scheduled`` with the event's
    ``payload`` (encoded as XCom values are), and delete the trigger; how many resumed."""
    waiting = session.scalars(
        sa.select(TaskInstance).where(
            TaskInstance.trigger_id == trigger_id, TaskInstance.state == TI.DEFERRED
        )
    ).all()
    resumed = 0
    for ti in waiting:
        kwargs = {**(ti.next_kwargs or {}), "event": payload}
        resumed += set_task_state(
            session=session,
            ti_id=ti.id,
            expected=TI.DEFERRED,
            new=TI.SCHEDULED,
            try_number=ti.try_number,
            resume_try=True,
            next_kwargs=kwargs,
            trigger_id=None,
            trigger_timeout=None,
            scheduled_at=now,
        )
    session.execute(sa.delete(Trigger).where(Trigger.id == trigger_id))
    return resumed


def fail_deferred(
    *,
    session: Session,
    tis: Sequence[TaskInstance],
    error: Callable[[TaskInstance], BaseException],
    now: datetime,
    traceback: str | None = None,
) -> list[TaskInstance]:
    """End each deferred try of ``tis`` as failed with ``error(ti)`` (retry rules apply)
    and delete the triggers no instance waits on any more; the instances failed."""
    dags = load_run_dags(session=session, run_ids={ti.dag_run_id for ti in tis})
    triggers = [ti.trigger_id for ti in tis if ti.trigger_id is not None]  # before failing
    failed = []
    for ti in tis:
        found = dags.get(ti.dag_run_id)
        task = found.dag.tasks.get(ti.task_id) if found is not None else None
        if task is None:
            logger.warning("deferred %s.%s.%s: its task is gone", ti.dag_id, ti.run_id, ti.task_id)
            continue
        if _fail_one(session, ti, task, error(ti), now=now, traceback=traceback):
            failed.append(ti)
    delete_unused_triggers(session=session, ids=triggers)
    return failed


def _fail_one(
    session: Session,
    ti: TaskInstance,
    task: SerializedTask,
    error: BaseException,
    *,
    now: datetime,
    traceback: str | None,
) -> bool:
    message = str(error) or type(error).__name__
    logger.warning("deferred %s.%s.%s try %s failed: %s", ti.dag_id, ti.run_id, ti.task_id,
                   ti.try_number, message)  # fmt: skip
    try:
        with session.begin_nested():  # a lost race undoes this instance's writes alone
            record_failure(
                session=session,
                ti=ti,
                task=task,
                error_type=type(error).__name__,
                message=message,
                traceback=traceback,
                now=now,
            )
    except ConflictError:  # it moved on meanwhile (fired, cleared, marked)
        return False
    return True


def timeout_error(ti: TaskInstance) -> TaskDeferralTimeout:
    """The error of a deferral that outlived its ``timeout``."""
    return TaskDeferralTimeout(
        f"Trigger/execution timeout: deferred until {ti.trigger_timeout} and its trigger "
        "did not fire"
    )


def delete_unused_triggers(*, session: Session, ids: list[int] | None = None) -> int:
    """Delete triggers (of ``ids``, or all) that no deferred instance waits on."""
    waited_on = sa.select(TaskInstance.trigger_id).where(
        TaskInstance.state == TI.DEFERRED, TaskInstance.trigger_id.is_not(None)
    )
    stmt = sa.delete(Trigger).where(Trigger.id.not_in(waited_on))
    if ids is not None:
        stmt = stmt.where(Trigger.id.in_(ids))
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
