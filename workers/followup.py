"""Fast-follow: a worker whose try succeeded queues what became ready right below it.

So a chain of tasks does not wait for the scheduler's next tick between two links. It
runs inside the finishing transaction, under the same limits as the scheduler
(:func:`engine.scheduling.queue_ready`); the runner submits the jobs after the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.executors.base import TaskJob
from engine.models import TaskInstance
from engine.scheduling import Limits, queue_ready
from engine.scheduling.emptytasks import decide_ready_finishing_empty


class FollowUp(Protocol):
    """What the runner calls after a success, inside the finishing transaction."""

    def __call__(
        self,
        *,
        session: Session,
        ti: TaskInstance,
        dag: SerializedDAG,
        limits: Limits,
        now: datetime,
    ) -> list[TaskJob]: ...


def fast_follow(
    *, session: Session, ti: TaskInstance, dag: SerializedDAG, limits: Limits, now: datetime
) -> list[TaskJob]:
    """Decide the direct downstream tasks of ``ti``'s run and queue the ready ones."""
    downstream = dag.tasks[ti.task_id].downstream_task_ids
    if not downstream:
        return []
    ready = decide_ready_finishing_empty(
        session=session, dag_run=ti.dag_run, dag=dag, task_ids=downstream, now=now
    )
    return queue_ready(
        session=session, waiting=ready, limits=limits, now=now, graphs={ti.dag_run_id: dag}
    )
