"""Claiming a try: the compare-and-set ``queued → running`` that makes a delivery count.

Only the delivery that wins the claim runs the task; a duplicate (the same try
delivered twice) or a stale one (an older try) finds the row moved on and does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.authoring.serialization import SerializedDAG, SerializedTask
from engine.execution.context import RunInfo
from engine.execution.outcomes import start_attempt
from engine.execution.trysql import claim_statement
from engine.metrics import instruments
from engine.models import DagRun, TaskInstance
from engine.models.transitions import set_task_state
from engine.plugins.base import TaskInstanceEvent
from engine.services.dagversions import RunDag, load_run_dags, run_dag_of
from engine.state import TaskInstanceState
from engine.trykey import try_key
from workers.context import RunnerContext
from workers.logcapture import LogSnapshot

logger = logging.getLogger(__name__)

TI = TaskInstanceState


@dataclass(frozen=True)
class Claim:
    """A try this process won, and what running it needs (read in the claiming transaction)."""

    ti_id: int
    try_number: int
    max_tries: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    fileloc: str
    run: RunInfo
    dag: SerializedDAG
    """The graph of the run's DAG version (the file may define another one by now)."""
    task: SerializedTask
    dag_version: int | None = None
    """The number of the run's DAG version; None for a run older than versions."""
    first_poke_at: datetime | None = None
    """A rescheduling sensor's first poke (None until it was rescheduled once)."""
    poke_count: int = 0
    next_method: str | None = None
    """Set when the try resumes from a deferral: the method to call instead of ``execute``."""
    next_kwargs: dict[str, Any] | None = None
    """Its keyword arguments as stored (encoded), the trigger's ``event`` among them."""
    earlier_log: LogSnapshot | None = None
    """The log of this try so far (a rescheduled sensor's earlier pokes, a resumed task's
    part before its deferral), which this run's output continues."""
    started_at: datetime | None = None
    """The ``start_date`` the claim wrote (the finish computes the duration from it)."""

    def describe(self) -> str:
        index = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.dag_id}.{self.run_id}.{self.task_id}{index} try {self.try_number}"

    def event(
        self, state: TaskInstanceState, *, previous: TaskInstanceState, error: str | None = None
    ) -> TaskInstanceEvent:
        """What plugins' listeners hear of this try moving to ``state``."""
        return TaskInstanceEvent(
            **try_key(self),
            state=state.value,
            previous_state=previous.value,
            error=error,
        )


def claim_try(ti_id: int, try_number: int, *, ctx: RunnerContext) -> Claim | None:
    """Win try ``try_number`` of ``ti_id`` for this process (committed); None when lost.

    A task that its DAG no longer has is moved ``queued → removed`` instead (nothing
    could run it), and None is returned.
    """
    now = ctx.clock()
    with ctx.session_factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            try:
                with session.begin():
                    return _claim_in_one_statement(session, ti_id, try_number, now=now, ctx=ctx)
            except _TaskGoneError:
                pass  # rolled back: the claim is undone, the removal follows
        with session.begin():
            return _claim_with_orm(session, ti_id, try_number, now=now, ctx=ctx)


class _TaskGoneError(Exception):
    """The claimed task is not in its run's graph: roll the claim back and remove it."""


def _claim_in_one_statement(
    session: Session, ti_id: int, try_number: int, *, now: datetime, ctx: RunnerContext
) -> Claim | None:
    """PostgreSQL: compare-and-set, attempt row and graph identity in one round trip
    (:func:`engine.execution.trysql.claim_statement`); the graph itself is cached."""
    stmt = claim_statement(
        ti_id=ti_id, try_number=try_number, now=now, hostname=ctx.hostname, pid=ctx.pid
    )
    row = session.connection().execute(*stmt).one_or_none()
    if row is None:
        _log_lost(ti_id, try_number)
        return None
    if row.latest_hash is None:
        raise _TaskGoneError
    found = run_dag_of(session=session, row=row)
    if row.task_id not in found.dag.tasks:
        raise _TaskGoneError
    logger.info(
        "task instance %s (%s.%s.%s try %s): queued -> running",
        ti_id, row.dag_id, row.run_id, row.task_id, try_number,
    )  # fmt: skip
    _observe_delay(row.queued_at, now)
    earlier = _earlier_log(row.log, row.log_start or 0, bool(row.log_truncated))
    return _claim_of(session, row, found, earlier)


def _claim_with_orm(
    session: Session, ti_id: int, try_number: int, *, now: datetime, ctx: RunnerContext
) -> Claim | None:
    """Other databases (SQLite in ``loom standalone``): the same in a few statements."""
    ti = session.get(TaskInstance, ti_id)
    if ti is None:
        logger.warning("task instance %s try %s: no such task instance", ti_id, try_number)
        return None
    found = load_run_dags(session=session, run_ids=[ti.dag_run_id]).get(ti.dag_run_id)
    if found is None or ti.task_id not in found.dag.tasks:
        _remove(session, ti, try_number, now=now)
        return None
    if not _cas(session, ti_id, try_number, now=now, ctx=ctx):
        _log_lost(ti_id, try_number)
        return None
    # The compare-and-set synchronised ``ti`` in the session: no reload needed.
    _observe_delay(ti.queued_at, now)
    attempt = start_attempt(session=session, ti=ti, now=now, hostname=ctx.hostname, pid=ctx.pid)
    earlier = _earlier_log(attempt.log, attempt.log_start, attempt.log_truncated)
    return _claim_of(session, ti, found, earlier)


def _claim_of(
    session: Session, claimed: Any, found: RunDag, earlier_log: LogSnapshot | None
) -> Claim:
    """The :class:`Claim` of ``claimed`` (the claiming statement's row, or the task
    instance itself on other databases: the same attribute names)."""
    return Claim(
        ti_id=claimed.id,
        **try_key(claimed),
        max_tries=claimed.max_tries,
        fileloc=found.fileloc,
        run=_run_info(session, claimed.dag_run_id),
        dag=found.dag,
        task=found.dag.tasks[claimed.task_id],
        dag_version=found.version_number,
        first_poke_at=claimed.first_poke_at,
        poke_count=claimed.poke_count,
        next_method=claimed.next_method,
        next_kwargs=claimed.next_kwargs,
        earlier_log=earlier_log,
        started_at=claimed.start_date,
    )


def _log_lost(ti_id: int, try_number: int) -> None:
    logger.info(
        "task instance %s try %s: not queued at this try (duplicate or stale "
        "delivery); nothing to do",
        ti_id, try_number,
    )  # fmt: skip


def _observe_delay(queued_at: datetime | None, now: datetime) -> None:
    if queued_at is not None:
        instruments.get().scheduling_delay.observe(max((now - queued_at).total_seconds(), 0))


def _earlier_log(text: str | None, start: int, truncated: bool) -> LogSnapshot | None:
    """The attempt row's log when the try already ran (a rescheduled sensor's pokes)."""
    return None if not text else LogSnapshot(text, start, truncated, version=0)


_RUN_INFOS: dict[tuple[str, int], RunInfo] = {}
_RUN_INFOS_LIMIT = 1024


def _run_info(session: Session, dag_run_id: int) -> RunInfo:
    """The run's :class:`RunInfo`, cached: what it holds never changes once the run exists,
    and a worker runs many tasks of the same run in a row. Keyed by database too: a
    process may serve several (tests do), where the same primary key is another run."""
    key = (str(session.get_bind().engine.url), dag_run_id)
    info = _RUN_INFOS.get(key)
    if info is None:
        if len(_RUN_INFOS) >= _RUN_INFOS_LIMIT:
            _RUN_INFOS.clear()
        info = _RUN_INFOS[key] = run_info(session.get_one(DagRun, dag_run_id))
    return info


def run_info(dag_run: DagRun) -> RunInfo:
    """What the task's context shows of its run."""
    conf: dict[str, Any] = dict(dag_run.conf or {})
    return RunInfo(
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        logical_date=dag_run.logical_date,
        data_interval_start=dag_run.data_interval_start or dag_run.logical_date,
        data_interval_end=dag_run.data_interval_end or dag_run.logical_date,
        conf=conf,
        run_type=dag_run.run_type.value,
    )


def _cas(
    session: Session, ti_id: int, try_number: int, *, now: datetime, ctx: RunnerContext
) -> bool:
    return set_task_state(
        session=session,
        ti_id=ti_id,
        expected=TI.QUEUED,
        new=TI.RUNNING,
        try_number=try_number,
        hostname=ctx.hostname,
        pid=ctx.pid,
        start_date=now,
        last_heartbeat_at=now,
        end_date=None,
        duration=None,
    )


def _remove(session: Session, ti: TaskInstance, try_number: int, *, now: datetime) -> None:
    moved = set_task_state(
        session=session,
        ti_id=ti.id,
        expected=TI.QUEUED,
        new=TI.REMOVED,
        try_number=try_number,
        end_date=now,
    )
    if moved:
        logger.warning(
            "task instance %s (%s.%s.%s): the DAG no longer has this task; removed",
            ti.id, ti.dag_id, ti.run_id, ti.task_id,
        )  # fmt: skip
