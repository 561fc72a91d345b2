"""Upkeep of running work: due retries, zombies, timed-out runs, vanished jobs.

* :func:`promote_retries`: ``up_for_retry`` whose ``next_retry_at`` has come → ``scheduled``.
* :func:`detect_zombies`: ``running`` with a heartbeat older than the threshold → the try
  fails (error type ``Zombie``) through :func:`engine.execution.outcomes.record_zombie`, so
  the usual retry rules and dead letters apply. The late worker's finish then loses its CAS.
  The try ends at its last heartbeat: its duration is the time it ran.
* :func:`fail_timed_out_runs`: a running run past its DAG's ``dagrun_timeout`` fails
  (with its ``dag_run.failed`` alert, its DAG's failure callbacks, reason ``timed_out``).
  Its tasks that have not started (``none``, ``scheduled``) become ``skipped``; those with
  a try queued or waiting for a retry or a poke (``queued``, ``up_for_retry``,
  ``up_for_reschedule``) become ``failed``
  (the queued job's claim then loses its CAS); ``running`` ones are left to finish, and
  their finish CAS still works.
* :func:`stale_queued`: ``queued`` instances older than a grace period, which the caller
  re-submits when the executor no longer has their job (Redis lost it, or the process
  died between commit and submit). A second delivery of a try is harmless: only one
  claim can win.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.authoring.serialization import SerializedDAG
from engine.errors import ConflictError
from engine.execution.outcomes import record_zombie
from engine.executors.base import TaskJob
from engine.models import DagRun, TaskInstance
from engine.models.transitions import set_run_state, set_task_state
from engine.scheduling.runend import run_finished
from engine.scheduling.submission import Waiting, job_for
from engine.services.dagversions import RunDag, load_run_dags
from engine.state import DagRunState, TaskInstanceState

logger = logging.getLogger(__name__)

TI = TaskInstanceState

_TIMEOUT_MOVES: dict[TaskInstanceState, TaskInstanceState] = {
    TI.NONE: TI.SKIPPED,
    TI.SCHEDULED: TI.SKIPPED,
    TI.QUEUED: TI.FAILED,
    TI.UP_FOR_RETRY: TI.FAILED,
    TI.UP_FOR_RESCHEDULE: TI.FAILED,
    TI.DEFERRED: TI.FAILED,  # a try in progress (its trigger is dropped by the triggerer)
}


def promote_retries(*, session: Session, now: datetime) -> list[TaskInstance]:
    """Move due ``up_for_retry`` instances of running runs to ``scheduled``."""
    return promote_due(
        session=session, now=now, waiting=TI.UP_FOR_RETRY, due=TaskInstance.next_retry_at
    )


def promote_due(
    *,
    session: Session,
    now: datetime,
    waiting: TaskInstanceState,
    due: InstrumentedAttribute[datetime | None],
) -> list[TaskInstance]:
    """Move the instances of running runs that wait in ``waiting`` and whose ``due`` time
    has come to ``scheduled``, each by compare-and-set; rows another scheduler holds are
    skipped (``FOR UPDATE SKIP LOCKED``)."""
    tis = session.scalars(
        sa.select(TaskInstance)
        .join(DagRun, DagRun.id == TaskInstance.dag_run_id)
        .where(TaskInstance.state == waiting, due <= now, DagRun.state == DagRunState.RUNNING)
        .order_by(due, TaskInstance.id)
        .with_for_update(of=TaskInstance, skip_locked=True)
    ).all()
    return [
        ti
        for ti in tis
        if set_task_state(
            session=session,
            ti_id=ti.id,
            expected=waiting,
            new=TI.SCHEDULED,
            try_number=ti.try_number,
            scheduled_at=now,
        )
    ]


def detect_zombies(*, session: Session, now: datetime, threshold: timedelta) -> list[TaskInstance]:
    """Fail the current try of every running instance whose heartbeat stopped."""
    cutoff = now - threshold
    stale = sa.or_(
        TaskInstance.last_heartbeat_at < cutoff,
        sa.and_(TaskInstance.last_heartbeat_at.is_(None), TaskInstance.start_date < cutoff),
    )
    tis = session.scalars(
        sa.select(TaskInstance)
        .where(TaskInstance.state == TI.RUNNING, stale)
        .order_by(TaskInstance.id)
        .with_for_update(skip_locked=True)
    ).all()
    return fail_dead_tries(session=session, tis=tis, now=now, reason=_no_heartbeat)


def _no_heartbeat(ti: TaskInstance) -> str:
    seen = ti.last_heartbeat_at or ti.start_date
    return f"no heartbeat since {seen.isoformat() if seen else 'start'} (host {ti.hostname})"


def last_sign_of_life(ti: TaskInstance, now: datetime) -> datetime:
    """When a try whose worker died last ran: its last heartbeat (else its start), at most
    ``now``. A dead try ends then, so its duration is the time it ran, not the time until
    it was found dead."""
    seen = ti.last_heartbeat_at or ti.start_date
    return now if seen is None else min(seen, now)


def fail_dead_tries(
    *,
    session: Session,
    tis: Sequence[TaskInstance],
    now: datetime,
    reason: Callable[[TaskInstance], str],
) -> list[TaskInstance]:
    """Fail the current try of each of ``tis`` (running, locked by the caller) as a
    ``Zombie``, ended at :func:`last_sign_of_life`; the usual retry rules apply. Returns
    those failed (a try its worker finished meanwhile, or whose task is gone, is left)."""
    dags = load_run_dags(session=session, run_ids={ti.dag_run_id for ti in tis})
    failed = []
    for ti in tis:
        dag = _dag_of(ti.dag_run_id, dags)
        task = dag.tasks.get(ti.task_id) if dag is not None else None
        if task is None:
            logger.warning("zombie %s.%s.%s: its task is gone", ti.dag_id, ti.run_id, ti.task_id)
            continue
        message = reason(ti)
        logger.warning("zombie %s.%s.%s try %s: %s", ti.dag_id, ti.run_id, ti.task_id,
                       ti.try_number, message)  # fmt: skip
        ended = last_sign_of_life(ti, now)
        try:
            record_zombie(session=session, ti=ti, task=task, message=message, now=ended)
        except ConflictError:  # its worker finished it after all
            continue
        failed.append(ti)
    return failed


def _dag_of(dag_run_id: int, dags: Mapping[int, RunDag]) -> SerializedDAG | None:
    found = dags.get(dag_run_id)
    return None if found is None else found.dag


def fail_timed_out_runs(*, session: Session, now: datetime, max_failed_runs: int) -> list[DagRun]:
    """Fail every running run that has run longer than its DAG's ``dagrun_timeout``
    (``max_failed_runs``: ``core.max_consecutive_failed_dag_runs_per_dag``)."""
    runs = session.scalars(
        sa.select(DagRun)
        .where(DagRun.state == DagRunState.RUNNING, DagRun.start_date.is_not(None))
        .order_by(DagRun.id)
        .with_for_update(skip_locked=True)
    ).all()
    dags = load_run_dags(session=session, run_ids=[run.id for run in runs])
    failed = []
    for run in runs:
        dag = _dag_of(run.id, dags)
        timeout = dag.dagrun_timeout if dag is not None else None
        if timeout is None or run.start_date is None or now - run.start_date <= timeout:
            continue
        logger.warning("dag run %s.%s timed out after %s", run.dag_id, run.run_id, timeout)
        _settle_unfinished(run, session=session, now=now)
        if set_run_state(
            session=session,
            run_id_pk=run.id,
            expected=DagRunState.RUNNING,
            new=DagRunState.FAILED,
            end_date=now,
        ):
            assert dag is not None
            run_finished(
                session=session, dag_run=run, dag=dag, state=DagRunState.FAILED, now=now,
                error=("DagRunTimeout", f"the run took longer than dagrun_timeout ({timeout})"),
                reason="timed_out", max_failed_runs=max_failed_runs,
            )  # fmt: skip
            failed.append(run)
    return failed


def _settle_unfinished(run: DagRun, *, session: Session, now: datetime) -> None:
    tis = session.scalars(
        sa.select(TaskInstance).where(
            TaskInstance.dag_run_id == run.id, TaskInstance.state.in_(list(_TIMEOUT_MOVES))
        )
    ).all()
    for ti in tis:
        set_task_state(
            session=session,
            ti_id=ti.id,
            expected=ti.state,
            new=_TIMEOUT_MOVES[ti.state],
            try_number=ti.try_number,
            end_date=now,
        )


def stale_queued(*, session: Session, now: datetime, grace: timedelta) -> list[TaskJob]:
    """Jobs of instances queued longer than ``grace`` ago (candidates for re-submission)."""
    rows = session.execute(
        sa.select(*Waiting.columns())
        .where(TaskInstance.state == TI.QUEUED, TaskInstance.queued_at < now - grace)
        .order_by(TaskInstance.queued_at, TaskInstance.id)
    )
    return [job_for(Waiting(*row)) for row in rows]


def fail_dead_try(
    *, session: Session, ti_id: int, try_number: int, hostname: str, pid: int, now: datetime
) -> TaskInstance | None:
    """Fail try ``try_number`` of ``ti_id`` now if it is still running in process ``pid``
    on ``hostname``, which its worker saw die: a zombie found at once instead of after
    the heartbeat threshold. None when the try is not running there (never claimed,
    finished, or claimed by another process)."""
    ti = session.scalars(
        sa.select(TaskInstance)
        .where(
            TaskInstance.id == ti_id,
            TaskInstance.try_number == try_number,
            TaskInstance.state == TI.RUNNING,
            TaskInstance.hostname == hostname,
            TaskInstance.pid == pid,
        )
        .with_for_update()
    ).one_or_none()
    if ti is None:
        return None
    dag = _dag_of(ti.dag_run_id, load_run_dags(session=session, run_ids={ti.dag_run_id}))
    task = dag.tasks.get(ti.task_id) if dag is not None else None
    if task is None:
        return None
    message = f"its worker process {pid} on {hostname} died"
    logger.warning("task instance %s try %s: %s", ti_id, try_number, message)
    try:
        record_zombie(session=session, ti=ti, task=task, message=message, now=now)
    except ConflictError:
        return None
    return ti
