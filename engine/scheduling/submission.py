"""Submission: queue ready task instances in priority order, within every limit.

:func:`queue_ready` orders by class (high, default, low), then ``priority_weight``
(higher first), then age (earliest ``scheduled_at``), and queues while the global
``scheduler.parallelism``, the DAG's ``max_active_tasks`` and the pool's slots allow.
Slots are held by ``queued`` and ``running`` instances. On PostgreSQL the pool rows are
locked (``FOR UPDATE``) for the rest of the transaction, so schedulers and workers that
queue at the same time count each other's instances and never overshoot a limit.

A task instance whose pool does not exist is not queued (a warning is logged once per
pool and process); it is queued as soon as the pool is created.

The caller submits the returned jobs to the executor **after** its commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.executors.base import TaskJob
from engine.models import Dag, Pool, PriorityClass, TaskInstance
from engine.state import ACTIVE, TaskInstanceState
from engine.transitions import set_task_state

logger = logging.getLogger(__name__)

TI = TaskInstanceState

CLASS_RANK: dict[PriorityClass, int] = {
    PriorityClass.HIGH: 0,
    PriorityClass.DEFAULT: 1,
    PriorityClass.LOW: 2,
}

_warned_pools: set[str] = set()


@dataclass(frozen=True)
class Limits:
    """The global limit; per-DAG and per-pool limits are read from their rows."""

    parallelism: int


@dataclass
class _Usage:
    """Slots in use now, updated as instances are queued."""

    total: int
    by_dag: dict[str, int]
    by_pool: dict[str, int]
    pool_slots: dict[str, int]
    max_active_tasks: dict[str, int]

    def admits(self, ti: TaskInstance, limits: Limits) -> bool:
        if self.total >= limits.parallelism:
            return False
        if self.by_dag.get(ti.dag_id, 0) >= self.max_active_tasks.get(ti.dag_id, 0):
            return False
        if ti.pool not in self.pool_slots:
            _warn_unknown_pool(ti)
            return False
        return self.by_pool.get(ti.pool, 0) + ti.pool_slots <= self.pool_slots[ti.pool]

    def take(self, ti: TaskInstance) -> None:
        self.total += 1
        self.by_dag[ti.dag_id] = self.by_dag.get(ti.dag_id, 0) + 1
        self.by_pool[ti.pool] = self.by_pool.get(ti.pool, 0) + ti.pool_slots


def priority_key(ti: TaskInstance) -> tuple[int, int, float, int]:
    """Sort key: class, then weight (higher first), then age (oldest first), then id."""
    aged = ti.scheduled_at.timestamp() if ti.scheduled_at is not None else 0.0
    return (CLASS_RANK.get(ti.priority_class, 1), -ti.priority_weight, aged, ti.id)


def queue_ready(
    *, session: Session, tis: Sequence[TaskInstance], limits: Limits, now: datetime
) -> list[TaskJob]:
    """Move ``scheduled`` instances to ``queued`` (a new try) in priority order, within limits.

    Returns one job per instance this call queued; submit them after the commit.
    """
    candidates = [ti for ti in tis if ti.state is TI.SCHEDULED]
    if not candidates:
        return []
    usage = _usage(session=session, dag_ids={ti.dag_id for ti in candidates})
    jobs = []
    for ti in sorted(candidates, key=priority_key):
        if usage.total >= limits.parallelism:
            break
        if usage.admits(ti, limits) and _queue(ti, session=session, now=now):
            usage.take(ti)
            jobs.append(job_for(ti))
    return jobs


def job_for(ti: TaskInstance) -> TaskJob:
    """The executor job of ``ti``'s current try."""
    return TaskJob(
        ti_id=ti.id,
        try_number=ti.try_number,
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        priority_class=ti.priority_class.value,
    )


def _queue(ti: TaskInstance, *, session: Session, now: datetime) -> bool:
    won = set_task_state(
        session=session,
        ti_id=ti.id,
        expected=TI.SCHEDULED,
        new=TI.QUEUED,
        try_number=ti.try_number,
        increment_try=True,
        queued_at=now,
        job_id=f"{ti.id}:{ti.try_number + 1}",
    )
    if won:
        session.refresh(ti)
    return won


def _usage(*, session: Session, dag_ids: set[str]) -> _Usage:
    pools = session.scalars(sa.select(Pool).order_by(Pool.name).with_for_update()).all()
    active = TaskInstance.state.in_(list(ACTIVE))
    total = session.scalar(sa.select(sa.func.count()).where(active)) or 0
    by_dag = session.execute(
        sa.select(TaskInstance.dag_id, sa.func.count())
        .where(active, TaskInstance.dag_id.in_(dag_ids))
        .group_by(TaskInstance.dag_id)
    )
    by_pool = session.execute(
        sa.select(TaskInstance.pool, sa.func.sum(TaskInstance.pool_slots))
        .where(active)
        .group_by(TaskInstance.pool)
    )
    max_tasks = session.execute(
        sa.select(Dag.dag_id, Dag.max_active_tasks).where(Dag.dag_id.in_(dag_ids))
    )
    return _Usage(
        total=total,
        by_dag={dag_id: int(n) for dag_id, n in by_dag},
        by_pool={pool: int(n or 0) for pool, n in by_pool},
        pool_slots={pool.name: pool.slots for pool in pools},
        max_active_tasks={dag_id: int(n) for dag_id, n in max_tasks},
    )


def _warn_unknown_pool(ti: TaskInstance) -> None:
    if ti.pool not in _warned_pools:
        _warned_pools.add(ti.pool)
        logger.warning(
            "task %s.%s uses pool %r, which does not exist: not queued until it is created",
            ti.dag_id, ti.task_id, ti.pool,
        )  # fmt: skip
