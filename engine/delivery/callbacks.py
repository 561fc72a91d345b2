"""DAG callbacks: a finished run's ``on_success_callback`` / ``on_failure_callback``,
run by a worker, never by the scheduler.

1. When a run finishes, :func:`request_dag_callbacks` writes an outbox row of kind
   ``dag_callback`` in the transaction that finished it, only when the DAG has a callback
   for that outcome (the serialized DAG says which: ``callbacks``). A rollback takes the
   request with it; a finish that loses its compare-and-set writes none.
2. The outbox relay hands the row to :class:`DagCallbackHandler`, which submits a
   :class:`~engine.executors.base.CallbackJob` through its transport (an RQ job, or a
   process of its own under ``loom standalone``) and marks the row delivered; a transport
   outage is retried with backoff like every outbox row.
3. A worker runs ``workers.entry.run_dag_callbacks``: it imports the DAG file, builds the
   run's context and calls the callbacks. A callback's error is logged by the worker and
   never changes the run.

Delivery is at least once: a relay that dies between submitting and recording submits
again after its lease, and the RQ job id (from the row's id) makes that a no-op while
the first job is pending.

Outbox payload::

    {"dag_run_id": 7, "dag_id": "etl", "run_id": "manual__...", "state": "failed",
     "reason": "task_failure"}
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.delivery.dispatcher import ClaimedMessage
from engine.delivery.outbox import enqueue
from engine.executors.base import CallbackJob, CallbackTransport
from engine.models import DagRun, OutboxKind
from engine.state import DagRunState

logger = logging.getLogger(__name__)

SUBMITTED = "callbacks_submitted"
"""The report field counting callback requests handed to workers."""


def request_dag_callbacks(
    *,
    session: Session,
    dag_run: DagRun,
    dag: SerializedDAG,
    state: DagRunState,
    reason: str,
    now: datetime,
) -> bool:
    """Ask a worker to run ``dag``'s callbacks for ``dag_run`` ending in ``state``; False
    when the DAG has none for it (nothing is written)."""
    kind = "on_success" if state is DagRunState.SUCCESS else "on_failure"
    if kind not in dag.callbacks:
        return False
    payload = {
        "dag_run_id": dag_run.id,
        "dag_id": dag_run.dag_id,
        "run_id": dag_run.run_id,
        "state": state.value,
        "reason": reason,
    }
    # No dedup key: the caller's compare-and-set makes the finish (and so this) happen
    # once per end of the run, and a run cleared and finished again calls back again.
    enqueue(session=session, kind=OutboxKind.DAG_CALLBACK, payload=payload, dedup_key=None,
            now=now)  # fmt: skip
    logger.info("dag run %s.%s: %s callbacks requested", dag_run.dag_id, dag_run.run_id, kind)
    return True


class DagCallbackHandler:
    """Submits each ``dag_callback`` row as a job through ``transport``."""

    def __init__(self, transport: CallbackTransport) -> None:
        self.transport = transport

    def describe(self, message: ClaimedMessage) -> str:
        payload = message.payload
        run = f"{payload.get('dag_id')}.{payload.get('run_id')}"
        return f"{payload.get('state')} callbacks of {run}"

    def deliver(self, message: ClaimedMessage) -> str:
        payload = message.payload
        job = CallbackJob(
            request_id=message.id,
            dag_run_id=int(payload["dag_run_id"]),
            state=str(payload["state"]),
            reason=str(payload["reason"]),
        )
        self.transport.submit_callbacks(job)
        return SUBMITTED

    def record(
        self, *, session: Session, message: ClaimedMessage, outcome: str, now: datetime
    ) -> dict[str, int]:
        return {outcome: 1}

    def close(self) -> None:
        self.transport.close()
