"""Submission: queue ready task instances in priority order, within every limit.

:func:`queue_ready` orders by class (high, default, low), then ``priority_weight``
(higher first), then age (earliest ``scheduled_at``), and queues while the global
``scheduler.parallelism``, the DAG's ``max_active_tasks``, the pool's slots and the task's
own limits (:mod:`engine.scheduling.tasklimits`) allow.
Slots are held by ``queued`` and ``running`` instances. On PostgreSQL the pool rows are
locked (``FOR UPDATE``) for the rest of the transaction, so schedulers and workers that
queue at the same time count each other's instances and never overshoot a limit.

A task instance whose pool does not exist is not queued (a warning is logged once per
pool and process); it is queued as soon as the pool is created.

The caller submits the returned jobs to the executor **after** its commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG
from engine.executors.base import TaskJob
from engine.models import Dag, DagRun, Pool, TaskInstance
from engine.models.transitions import set_task_state
from engine.priority import PriorityClass, try_job_id
from engine.scheduling.tasklimits import TaskLimits, task_limits
from engine.state import ACTIVE, DagRunState, TaskInstanceState, check_task_transition

logger = logging.getLogger(__name__)

TI = TaskInstanceState

_warned_pools: set[str] = set()

_ACTIVE = TaskInstance.state.in_(list(ACTIVE))


@dataclass(frozen=True)
class Limits:
    """The global limit; per-DAG and per-pool limits are read from their rows."""

    parallelism: int


@dataclass(frozen=True)
class Waiting:
    """A ``scheduled`` task instance as submission sees it: the columns it orders and
    limits by, read as plain rows (a busy tick has thousands of them)."""

    id: int
    dag_run_id: int
    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    pool: str
    pool_slots: int
    priority_class: PriorityClass
    priority_weight: int
    queue: str
    scheduled_at: datetime | None
    next_poke_at: datetime | None = None
    """Set when this is a rescheduled sensor's next poke, which continues its current try."""

    @property
    def next_try(self) -> int:
        """The try number its queueing gives it: a new try, or a sensor's current one."""
        return self.try_number if self.next_poke_at is not None else self.try_number + 1

    @classmethod
    def columns(cls) -> tuple[sa.ColumnElement[Any], ...]:
        """The task instance columns to select, in field order."""
        return tuple(getattr(TaskInstance, name) for name in cls.__dataclass_fields__)


@dataclass
class _Usage:
    """Slots in use now, updated as instances are queued."""

    total: int
    by_dag: dict[str, int]
    by_pool: dict[str, int]
    pool_slots: dict[str, int]
    max_active_tasks: dict[str, int]
    tasks: TaskLimits
    still_waiting: set[int] | None = None
    """Of the instances offered, those still ``scheduled`` under the pool lock (when asked)."""

    def admits(self, ti: Waiting, limits: Limits) -> bool:
        if self.total >= limits.parallelism:
            return False
        if self.by_dag.get(ti.dag_id, 0) >= self.max_active_tasks.get(ti.dag_id, 0):
            return False
        if not self.tasks.admits(ti):
            return False
        if ti.pool not in self.pool_slots:
            _warn_unknown_pool(ti)
            return False
        return self.by_pool.get(ti.pool, 0) + ti.pool_slots <= self.pool_slots[ti.pool]

    def take(self, ti: Waiting) -> None:
        self.total += 1
        self.by_dag[ti.dag_id] = self.by_dag.get(ti.dag_id, 0) + 1
        self.by_pool[ti.pool] = self.by_pool.get(ti.pool, 0) + ti.pool_slots
        self.tasks.take(ti)


def priority_key(ti: Waiting) -> tuple[int, int, float, int]:
    """Sort key: class, then weight (higher first), then age (oldest first), then id."""
    aged = ti.scheduled_at.timestamp() if ti.scheduled_at is not None else 0.0
    return (ti.priority_class.rank, -ti.priority_weight, aged, ti.id)


def waiting_instances(*, session: Session) -> list[Waiting]:
    """Every ``scheduled`` instance of a running run."""
    rows = session.execute(
        sa.select(*Waiting.columns())
        .join(DagRun, DagRun.id == TaskInstance.dag_run_id)
        .where(TaskInstance.state == TI.SCHEDULED, DagRun.state == DagRunState.RUNNING)
    )
    return [Waiting(*row) for row in rows]


def waiting_in_run(*, session: Session, dag_run_id: int, limit: int) -> list[Waiting]:
    """The first ``limit`` ``scheduled`` instances of run ``dag_run_id`` (its primary key)
    in priority order (:func:`priority_key`'s, computed by the server): a worker's
    fast-follow offers them the slot its try freed. Reads at most ``limit`` rows."""
    params = {"dag_run_id": dag_run_id, "limit": limit}
    rows = session.connection().execute(_waiting_in_run(), params)  # Core: plain rows
    return [Waiting(*row) for row in rows]


@cache
def _waiting_in_run() -> sa.Select[Any]:
    """:func:`waiting_in_run`'s statement, built once per process."""
    ranks = {member.value: member.rank for member in PriorityClass}
    return (
        sa.select(*Waiting.columns())
        .where(
            TaskInstance.dag_run_id == sa.bindparam("dag_run_id"),
            TaskInstance.state == TI.SCHEDULED,
        )
        .order_by(
            sa.case(ranks, value=TaskInstance.priority_class, else_=len(ranks)),
            TaskInstance.priority_weight.desc(),
            TaskInstance.scheduled_at.asc().nulls_first(),
            TaskInstance.id,
        )
        .limit(sa.bindparam("limit"))
    )


def active_count(*, session: Session) -> int:
    """Instances holding a slot (``queued`` or ``running``), across all DAGs."""
    return session.scalar(sa.select(sa.func.count()).where(_ACTIVE)) or 0


def queue_ready(
    *,
    session: Session,
    waiting: Sequence[Waiting],
    limits: Limits,
    now: datetime,
    graphs: Mapping[int, SerializedDAG] | None = None,
    in_one_statement: bool = False,
) -> list[TaskJob]:
    """Move ``waiting`` instances to ``queued`` (a new try, or a rescheduled sensor's next
    poke of its current one) in priority order, within limits.

    ``graphs``: the graphs of the waiting instances' runs by run id, when the caller holds
    them (the others are loaded). An instance that another process queued meanwhile loses
    its compare-and-set and is left out. Returns one job per instance this call queued;
    submit them after the commit.

    ``in_one_statement`` (a worker's fast-follow, PostgreSQL only): the same limits under
    the same pool lock, then every admitted instance queued by ONE compare-and-set
    statement (``UPDATE ... FROM unnest(arrays)`` on ``(id, state, try_number)``), so a
    fan-out of a thousand is one round trip, not a thousand. Two harmless differences: an
    instance whose compare-and-set loses (another process queued it first) has still
    counted against the limits of this call, so this call may queue one fewer than it
    could (the next tick fills the slot); and the session's ORM objects of these instances
    are not synchronised (the worker's finishing transaction reads none of them afterwards).
    """
    if not waiting:
        return []
    usage = _usage(session=session, waiting=waiting, graphs=graphs)
    queue = _queue_in_one_statement if in_one_statement else _queue_each
    return queue(session, waiting, usage, limits, now)


def _queue_each(
    session: Session, waiting: Sequence[Waiting], usage: _Usage, limits: Limits, now: datetime
) -> list[TaskJob]:
    queued = _admit(waiting, usage, limits, lambda ti: _queue(ti, session=session, now=now))
    return [job_for(ti, try_number=ti.next_try) for ti in queued]


def _admit(
    waiting: Sequence[Waiting], usage: _Usage, limits: Limits, take: Callable[[Waiting], bool]
) -> list[Waiting]:
    """The instances ``take`` accepted, in priority order, each while the limits admit it
    (an accepted one counts against them)."""
    admitted = []
    for ti in sorted(waiting, key=priority_key):
        if usage.total >= limits.parallelism:
            break
        if usage.admits(ti, limits) and take(ti):
            usage.take(ti)
            admitted.append(ti)
    return admitted


def queue_waiting_in_run(
    *,
    session: Session,
    dag_run_id: int,
    limit: int,
    limits: Limits,
    now: datetime,
    graphs: Mapping[int, SerializedDAG] | None = None,
    waiting: Sequence[Waiting] | None = None,
) -> list[TaskJob]:
    """Queue the first ``limit`` instances of run ``dag_run_id`` waiting in ``scheduled``
    (:func:`waiting_in_run`, or ``waiting`` when the caller read them) that the limits
    admit: a worker's fast-follow offering the slot its try freed. They are read before
    the pool lock (a run with none waiting takes no lock) and checked again under it, in
    the slot count's statement: of two workers offering at once, the second passes over
    what the first queued. Then the same admission as :func:`queue_ready`, queued in one
    statement on PostgreSQL."""
    if waiting is None:
        waiting = waiting_in_run(session=session, dag_run_id=dag_run_id, limit=limit)
    if not waiting:
        return []
    usage = _usage(session=session, waiting=waiting, graphs=graphs, recheck=True)
    waiting = [ti for ti in waiting if ti.id in (usage.still_waiting or ())]
    if session.get_bind().dialect.name == "postgresql":
        return _queue_in_one_statement(session, waiting, usage, limits, now)
    return _queue_each(session, waiting, usage, limits, now)


def _queue_in_one_statement(
    session: Session, waiting: Sequence[Waiting], usage: _Usage, limits: Limits, now: datetime
) -> list[TaskJob]:
    admitted = _admit(waiting, usage, limits, lambda ti: True)
    if not admitted:
        return []
    check_task_transition(TI.SCHEDULED, TI.QUEUED)
    params = {
        "ids": [ti.id for ti in admitted],
        "expected_tries": [ti.try_number for ti in admitted],
        "next_tries": [ti.next_try for ti in admitted],
        "job_ids": [try_job_id(ti.id, ti.next_try) for ti in admitted],
        "now": now,
    }
    won = set(session.connection().execute(_queue_many(), params).scalars())
    logger.info("queued %s of %s ready task instances", len(won), len(admitted))
    return [job_for(ti, try_number=ti.next_try) for ti in admitted if ti.id in won]


@cache
def _queue_many() -> sa.Update:
    """``scheduled → queued`` of many instances, each on its ``(id, try_number)``: built
    once, its rows bound as arrays (``unnest``), so it is compiled once per process."""
    from sqlalchemy.dialects.postgresql import ARRAY  # only where PostgreSQL is used

    def array(name: str, of: sa.types.TypeEngine[Any]) -> sa.BindParameter[Any]:
        return sa.bindparam(name, type_=ARRAY(of))

    tries = (
        sa.func.unnest(
            array("ids", sa.Integer()),
            array("expected_tries", sa.Integer()),
            array("next_tries", sa.Integer()),
            array("job_ids", sa.String()),
        )
        .table_valued(
            sa.column("id", sa.Integer),
            sa.column("expected_try", sa.Integer),
            sa.column("next_try", sa.Integer),
            sa.column("job_id", sa.String),
        )
        .render_derived(name="tries")
    )
    table = cast(sa.Table, TaskInstance.__table__)
    now = sa.bindparam("now", type_=table.c.queued_at.type)
    return (
        sa.update(table)
        .where(
            table.c.id == tries.c.id,
            table.c.state == TI.SCHEDULED,
            table.c.try_number == tries.c.expected_try,
        )
        .values(
            state=TI.QUEUED,
            try_number=tries.c.next_try,
            queued_at=now,
            job_id=tries.c.job_id,
            next_poke_at=None,
            updated_at=now,
        )
        .returning(table.c.id)
    )


def job_for(ti: Waiting | TaskInstance, *, try_number: int | None = None) -> TaskJob:
    """The executor job of ``ti``'s try ``try_number`` (default: its current try)."""
    return TaskJob(
        ti_id=ti.id,
        try_number=ti.try_number if try_number is None else try_number,
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        priority_class=ti.priority_class.value,
        queue=ti.queue,
    )


def _queue(ti: Waiting, *, session: Session, now: datetime) -> bool:
    return set_task_state(
        session=session,
        ti_id=ti.id,
        expected=TI.SCHEDULED,
        new=TI.QUEUED,
        try_number=ti.try_number,
        increment_try=ti.next_try > ti.try_number,
        queued_at=now,
        job_id=try_job_id(ti.id, ti.next_try),
        next_poke_at=None,
    )


def _lock_pools(session: Session) -> dict[str, int]:
    """Every pool's slots by name, their rows locked: the locks serialise every process
    that queues (see above)."""
    rows = session.connection().execute(_pools_locked())
    return {row.name: row.slots for row in rows}


@cache
def _pools_locked() -> sa.Select[str, int]:
    return sa.select(Pool.name, Pool.slots).order_by(Pool.name).with_for_update()


def _usage(
    *,
    session: Session,
    waiting: Sequence[Waiting],
    graphs: Mapping[int, SerializedDAG] | None,
    recheck: bool = False,
) -> _Usage:
    """The slots in use, after locking the pools; ``recheck``: also which of ``waiting``
    are still ``scheduled`` once the lock is held (:attr:`_Usage.still_waiting`)."""
    pools = _lock_pools(session)
    # One round trip for the slots in use and the DAGs' limits (after the pool lock, so
    # its fresh snapshot sees what other queuers committed): rows tagged "use" / "dag"
    # (and "waiting", the rechecked instances still ``scheduled``).
    params: dict[str, Any] = {"dag_ids": sorted({ti.dag_id for ti in waiting})}
    if recheck:
        params["ids"] = [ti.id for ti in waiting]
    by_dag: dict[str, int] = {}
    by_pool: dict[str, int] = {}
    max_tasks: dict[str, int] = {}
    still: set[int] = set()
    rows = session.connection().execute(_usage_statement(recheck), params)
    for kind, dag_id, pool, count, slots in rows:
        if kind == "dag":
            max_tasks[dag_id] = int(count)
        elif kind == "waiting":
            still.add(int(count))
        else:
            by_dag[dag_id] = by_dag.get(dag_id, 0) + int(count)
            by_pool[pool] = by_pool.get(pool, 0) + int(slots)
    return _Usage(
        total=sum(by_dag.values()),
        by_dag=by_dag,
        by_pool=by_pool,
        pool_slots=pools,
        max_active_tasks=max_tasks,
        tasks=task_limits(session=session, waiting=waiting, graphs=graphs),
        still_waiting=still if recheck else None,
    )


@cache
def _usage_statement(recheck: bool) -> sa.CompoundSelect[Any]:
    """:func:`_usage`'s statement, built once per process (its lists bound at execution)."""
    in_use = (
        sa.select(
            sa.literal("use").label("kind"),
            TaskInstance.dag_id,
            TaskInstance.pool,
            sa.func.count().label("n"),
            sa.func.coalesce(sa.func.sum(TaskInstance.pool_slots), 0).label("slots"),
        )
        .where(_ACTIVE)
        .group_by(TaskInstance.dag_id, TaskInstance.pool)
    )
    dag_limits = sa.select(
        sa.literal("dag"),
        Dag.dag_id,
        sa.null().cast(TaskInstance.pool.type),
        Dag.max_active_tasks,
        sa.literal(0),
    ).where(Dag.dag_id.in_(sa.bindparam("dag_ids", expanding=True)))
    if not recheck:
        return sa.union_all(in_use, dag_limits)
    waiting = sa.select(
        sa.literal("waiting"),
        sa.null().cast(TaskInstance.dag_id.type),
        sa.null().cast(TaskInstance.pool.type),
        TaskInstance.id,
        sa.literal(0),
    ).where(
        TaskInstance.id.in_(sa.bindparam("ids", expanding=True)),
        TaskInstance.state == TI.SCHEDULED,
    )
    return sa.union_all(in_use, dag_limits, waiting)


def _warn_unknown_pool(ti: Waiting) -> None:
    if ti.pool not in _warned_pools:
        _warned_pools.add(ti.pool)
        logger.warning(
            "task %s.%s uses pool %r, which does not exist: not queued until it is created",
            ti.dag_id, ti.task_id, ti.pool,
        )  # fmt: skip
