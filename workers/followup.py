"""Fast-follow: a worker whose try succeeded queues what became ready right below it.

So a chain of tasks does not wait for the scheduler's next tick between two links. It
runs inside the finishing transaction, under the same limits as the scheduler
(:func:`engine.scheduling.queue_ready`); the runner submits the jobs after the commit.

When nothing below the try became ready (a leaf of a fan-out whose join still waits), the
slot the try freed goes to the run's instances already ``scheduled`` and waiting for one
(:data:`SIBLINGS_OFFERED` of them, in priority order, under the same admission), so a
fan-out wider than ``parallelism`` refills its slots without the scheduler's ticks.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from engine.authoring.serialization import SerializedDAG
from engine.executors.base import TaskJob
from engine.models import DagRun
from engine.scheduling import Limits, queue_ready
from engine.scheduling.emptytasks import decide_ready_finishing_empty
from engine.scheduling.fanin import is_wide_join, still_waiting
from engine.scheduling.submission import (
    Waiting,
    queue_waiting_in_run,
    waiting_in_run,
)

SIBLINGS_OFFERED = 4
"""How many of its run's waiting instances a try that queued nothing below it offers its
freed slot (the first in priority order; more than one, so that an instance held back by
its pool or a per-task limit does not block the others)."""


def run_reference(session: Session, dag_run_id: int) -> DagRun:
    """The run as an ORM object that reads its row only when an attribute is used.

    Deciding a chain's or a fan-in's next task needs the run's key only (a branch, a
    ``depends_on_past`` or a mapped task reads more, and then loads it): no SELECT for
    the common fast-follow. The row is expired, never written: nothing here is flushed.
    """
    found = session.identity_map.get(identity_key(DagRun, dag_run_id))
    if isinstance(found, DagRun):
        return found
    run = DagRun()
    run.id = dag_run_id
    make_transient_to_detached(run)  # the other attributes are expired: loaded on use
    session.add(run)
    return run


def fast_follow(
    *,
    session: Session,
    dag_run_id: int,
    task_id: str,
    dag: SerializedDAG,
    limits: Limits,
    now: datetime,
) -> list[TaskJob]:
    """Decide the direct downstream tasks of ``task_id`` in run ``dag_run_id`` (its
    primary key) and queue the ready ones."""
    downstream = dag.tasks[task_id].downstream_task_ids
    offered = _offered_first(session, dag_run_id, dag, downstream)
    if offered and _hold_back(dag, downstream, offered):
        ready = []  # the joins below surely wait: no need to ask for an unfinished upstream
    else:
        ready = _ready_below(
            session=session, dag_run_id=dag_run_id, task_id=task_id, dag=dag, now=now
        )
    if not ready:  # the freed slot: for the run's instances waiting for one
        return queue_waiting_in_run(
            session=session, dag_run_id=dag_run_id, limit=SIBLINGS_OFFERED, limits=limits,
            now=now, graphs={dag_run_id: dag}, waiting=offered,
        )  # fmt: skip
    return queue_ready(
        session=session, waiting=ready, limits=limits, now=now, graphs={dag_run_id: dag},
        in_one_statement=session.get_bind().dialect.name == "postgresql",  # arrays, ``unnest``
    )  # fmt: skip


def _ready_below(
    *, session: Session, dag_run_id: int, task_id: str, dag: SerializedDAG, now: datetime
) -> list[Waiting]:
    """The direct downstream tasks of ``task_id`` now ``scheduled``, decided here."""
    downstream = dag.tasks[task_id].downstream_task_ids
    if downstream:
        # A wide fan-in's join waits for its other upstream tasks: a leaf need not read the run.
        waiting = still_waiting(
            session=session, dag_run_id=dag_run_id, dag=dag, task_ids=downstream
        )
        downstream = tuple(t for t in downstream if t not in waiting)
    if not downstream:
        return []
    dag_run = run_reference(session, dag_run_id)
    return decide_ready_finishing_empty(
        session=session, dag_run=dag_run, dag=dag, task_ids=downstream, now=now
    )


def _offered_first(
    session: Session, dag_run_id: int, dag: SerializedDAG, downstream: Collection[str]
) -> list[Waiting] | None:
    """Below a leaf of a wide fan-in (every task below it a wide join): the run's instances
    waiting for a slot, read first (None elsewhere: read only if nothing below is ready)."""
    if not downstream or not all(is_wide_join(dag, t) for t in downstream):
        return None
    return waiting_in_run(session=session, dag_run_id=dag_run_id, limit=SIBLINGS_OFFERED)


def _hold_back(dag: SerializedDAG, downstream: Collection[str], offered: list[Waiting]) -> bool:
    """Whether every join below has an upstream instance among ``offered``: one still in
    ``scheduled`` is unfinished, so under a :data:`~engine.scheduling.fanin.WAITS_FOR_ALL`
    rule the join surely waits (what :func:`~engine.scheduling.fanin.still_waiting` would
    have asked the database)."""
    waiting_tasks = {ti.task_id for ti in offered}
    return all(waiting_tasks & set(dag.tasks[t].upstream_task_ids) for t in downstream)
