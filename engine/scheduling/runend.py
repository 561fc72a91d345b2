"""What follows a run's final state, in the transaction that set it.

:func:`run_finished` is called by whatever decided the run's end (its tasks finished,
:mod:`~engine.scheduling.finishing`; it timed out, :mod:`~engine.scheduling.maintenance`),
right after its compare-and-set won. It writes, in that same transaction:

* the ``dag_run.succeeded`` / ``dag_run.failed`` alert event (when someone wants it);
* the request to run the DAG's ``on_success_callback`` / ``on_failure_callback`` on a
  worker (:mod:`engine.delivery.callbacks`: the scheduler never runs user code);
* when the run failed and the DAG has now failed ``max_consecutive_failed_dag_runs`` runs
  in a row, the DAG's pause, with an audit-log entry saying why.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.delivery.callbacks import request_dag_callbacks
from engine.delivery.notifications import emit
from engine.models import Dag, DagRun
from engine.services.audit import Outcome, record
from engine.state import DagRunState

logger = logging.getLogger(__name__)

AUTO_PAUSE_ACTION = "dag.paused_after_failures"
"""The audit log's action of a DAG paused by the scheduler."""


def run_finished(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    state: DagRunState,
    now: datetime,
    max_failed_runs: int,
    error: tuple[str, str] | None = None,
    reason: str | None = None,
) -> None:
    """Write what follows ``dag_run`` ending in ``state`` (see the module docstring).

    ``max_failed_runs`` is ``core.max_consecutive_failed_dag_runs_per_dag``, used when
    the DAG does not set its own limit; ``reason`` is the callbacks' ``reason`` (default:
    ``success`` or ``task_failure``, Airflow's words).
    """
    emit.dag_run_finished(session=session, dag_run=dag_run, dag=dag, state=state, now=now,
                          error=error)  # fmt: skip
    default_reason = "success" if state is DagRunState.SUCCESS else "task_failure"
    request_dag_callbacks(
        session=session, dag_run=dag_run, dag=dag, state=state, reason=reason or default_reason,
        now=now,
    )  # fmt: skip
    if state is DagRunState.FAILED:
        limit = dag.max_consecutive_failed_dag_runs
        pause_after_failures(
            session=session,
            dag_id=dag_run.dag_id,
            limit=max_failed_runs if limit is None else limit,
            now=now,
        )


def pause_after_failures(*, session: Session, dag_id: str, limit: int, now: datetime) -> bool:
    """Pause ``dag_id`` when its latest ``limit`` runs all failed (``limit`` 0: never);
    True when this call paused it. Runs count in the order they were created."""
    if limit <= 0:
        return False
    latest = session.scalars(
        sa.select(DagRun.state)
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.id.desc())
        .limit(limit)
    ).all()
    if len(latest) < limit or any(state is not DagRunState.FAILED for state in latest):
        return False
    paused = session.execute(
        sa.update(Dag)
        .where(Dag.dag_id == dag_id, Dag.is_paused.is_(False))
        .values(is_paused=True)
        .execution_options(synchronize_session="fetch")
    )
    if not paused.rowcount:  # type: ignore[attr-defined]
        return False  # paused already (by hand, or by another scheduler)
    message = f"paused because its last {limit} runs failed (max_consecutive_failed_dag_runs)"
    logger.warning("DAG %s %s", dag_id, message)
    record(
        session=session,
        action=AUTO_PAUSE_ACTION,
        outcome=Outcome.SUCCESS,
        now=now,
        username="scheduler",
        target=f"/dags/{dag_id}",
        details={"dag_id": dag_id, "is_paused": True, "reason": message},
    )
    return True
