"""What the home page shows at a glance: runs and task instances by state over a window,
the latest failures, how full the pools are, the dead letters waiting,
and whether the long-running processes are alive.

A run or task instance is *in the window* when its row changed within it (``updated_at``:
it was created, moved state, started, ended or heartbeat). Liveness comes only from what
the processes record: schedulers and triggerers write a heartbeat row each; workers and
notifiers write theirs in ``process_heartbeat`` (a row per process, deleted when it stops
cleanly, so that a row left silent is a process that died). Functions take ``session``
keyword-only and never commit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.models import (
    DagRun,
    DeadLetter,
    DeadLetterState,
    Pool,
    ProcessHeartbeat,
    ProcessKind,
    TaskInstance,
)
from engine.scheduling.heartbeats import FORGET_AFTER
from engine.services.deadletters import DeadLetterFilter, dead_letter_query
from engine.services.health import (
    HEALTHY,
    UNHEALTHY,
    ComponentHealth,
    check_scheduler,
    check_triggerer,
)
from engine.services.pagination import within_dags
from engine.services.pools import PoolUsage, usage
from engine.state import DagRunState, TaskInstanceState

WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
"""The windows the home page offers, by the name its selector sends."""
DEFAULT_WINDOW = "24h"
RECENT_FAILURES = 10
"""Failed task instances the home page lists at most."""
NO_HEARTBEAT = "no_heartbeat"
"""A component status: the process records no heartbeat (or none was ever recorded)."""
_State = TypeVar("_State", DagRunState, TaskInstanceState)


@dataclass(frozen=True)
class Liveness:
    """One kind of process as its heartbeats show it."""

    name: str
    status: str
    """``healthy``, ``unhealthy`` or ``no_heartbeat``."""
    last_heartbeat: datetime | None
    detail: str


def run_states(
    *, session: Session, since: datetime, dag_ids: Collection[str] | None
) -> dict[DagRunState, int]:
    """Runs (of ``dag_ids``; None: all) changed since ``since``, counted by state (every
    state, zero included)."""
    return _counts_by_state(session, DagRun, DagRunState, since=since, dag_ids=dag_ids)


def task_states(
    *, session: Session, since: datetime, dag_ids: Collection[str] | None
) -> dict[TaskInstanceState, int]:
    """Task instances (of ``dag_ids``; None: all) changed since ``since``, by state."""
    return _counts_by_state(session, TaskInstance, TaskInstanceState, since=since, dag_ids=dag_ids)


def _counts_by_state(
    session: Session,
    model: type[DagRun] | type[TaskInstance],
    states: type[_State],
    *,
    since: datetime,
    dag_ids: Collection[str] | None,
) -> dict[_State, int]:
    """Rows of ``model`` (of ``dag_ids``) changed since ``since``, counted by state (every
    state of ``states``, zero included)."""
    stmt = sa.select(model.state, sa.func.count()).where(model.updated_at >= since)
    if dag_ids is not None:
        stmt = stmt.where(model.dag_id.in_(sorted(dag_ids)))
    counts = dict.fromkeys(states, 0)
    for state, count in session.execute(stmt.group_by(model.state)):
        counts[states(state)] = int(count)
    return counts


def recent_failures(
    *,
    session: Session,
    since: datetime,
    dag_ids: Collection[str] | None,
    limit: int = RECENT_FAILURES,
) -> list[TaskInstance]:
    """Task instances (of ``dag_ids``) that failed since ``since``, latest first."""
    ended = sa.func.coalesce(TaskInstance.end_date, TaskInstance.updated_at)
    stmt = sa.select(TaskInstance).where(
        TaskInstance.state == TaskInstanceState.FAILED, TaskInstance.updated_at >= since
    )
    stmt = within_dags(stmt, TaskInstance.dag_id, dag_ids)
    return list(session.scalars(stmt.order_by(ended.desc(), TaskInstance.id.desc()).limit(limit)))


def pool_usage(*, session: Session) -> list[PoolUsage]:
    """Every pool with the slots its queued and running task instances hold."""
    return usage(session=session, pools=list(session.scalars(sa.select(Pool).order_by(Pool.name))))


def pending_dead_letters(*, session: Session, dag_ids: Collection[str] | None) -> int:
    """Dead letters (of ``dag_ids``) waiting for a replay or a discard."""
    stmt = dead_letter_query(DeadLetterFilter(state=DeadLetterState.PENDING, dag_ids=dag_ids))
    return _count(session, stmt.with_only_columns(DeadLetter.id))


def _count(session: Session, stmt: sa.Select[Any]) -> int:
    subquery = stmt.order_by(None).subquery()
    return int(session.scalar(sa.select(sa.func.count()).select_from(subquery)) or 0)


# -- liveness --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """How old a heartbeat may be before its process counts as dead."""

    scheduler: timedelta
    triggerer: timedelta
    worker: timedelta
    """A worker process's own heartbeat (``scheduler.zombie_threshold``)."""
    notifier: timedelta
    """A notifier's heartbeat (``scheduler.zombie_threshold`` too)."""


def liveness(
    sessions: sessionmaker[Session], *, now: datetime, thresholds: Thresholds
) -> list[Liveness]:
    """Scheduler, triggerer, workers and notifier, each as far as its heartbeats tell."""
    scheduler, beat = check_scheduler(sessions, now=now, threshold=thresholds.scheduler)
    triggerer, triggered = check_triggerer(sessions, now=now, threshold=thresholds.triggerer)
    with sessions() as session:
        workers = worker_liveness(session=session, now=now, threshold=thresholds.worker)
        notifier = process_liveness(
            session=session, kind=ProcessKind.NOTIFIER, now=now, threshold=thresholds.notifier
        )
    return [
        _from_health("scheduler", scheduler, beat),
        _from_health("triggerer", triggerer, triggered),
        workers,
        notifier,
    ]


def _from_health(name: str, health: ComponentHealth | None, beat: datetime | None) -> Liveness:
    if health is None or (beat is None and health.status == UNHEALTHY):
        detail = health.detail if health is not None and health.detail else f"no {name} has run"
        return Liveness(name, NO_HEARTBEAT, None, detail)
    if health.status == HEALTHY:
        return Liveness(name, HEALTHY, beat, "heartbeat within the threshold")
    return Liveness(name, health.status, beat, health.detail or "heartbeat too old")


LIVENESS_NAMES = {ProcessKind.WORKER: "workers", ProcessKind.NOTIFIER: "notifier"}
"""The home page's name of each kind of process in ``process_heartbeat``."""


def process_liveness(
    *, session: Session, kind: ProcessKind, now: datetime, threshold: timedelta
) -> Liveness:
    """The ``kind`` processes: *N alive* (a heartbeat within ``threshold``) and *M silent*
    (older: gone without a clean stop); healthy while one is alive, unhealthy when all are
    silent, no heartbeat when none ran (within :data:`FORGET_AFTER`)."""
    alive, silent, latest = _process_counts(session, kind, now - threshold, now - FORGET_AFTER)
    name = LIVENESS_NAMES[kind]
    if not alive and not silent:
        return Liveness(name, NO_HEARTBEAT, None, f"no {kind.value} has run")
    detail = f"{alive} alive" + (f", {silent} silent" if silent else "")
    return Liveness(name, HEALTHY if alive else UNHEALTHY, latest, detail)


def _process_counts(
    session: Session, kind: ProcessKind, cutoff: datetime, forgotten: datetime
) -> tuple[int, int, datetime | None]:
    """Processes of ``kind`` alive since ``cutoff``, silent since (not before ``forgotten``),
    and the latest heartbeat of any."""
    beat = ProcessHeartbeat.last_heartbeat_at
    fresh = sa.case((beat >= cutoff, 1), else_=0)
    alive, total, latest = session.execute(
        sa.select(sa.func.sum(fresh), sa.func.count(), sa.func.max(beat)).where(
            ProcessHeartbeat.kind == kind.value, beat >= forgotten
        )
    ).one()
    return int(alive or 0), int(total) - int(alive or 0), latest


def worker_liveness(*, session: Session, now: datetime, threshold: timedelta) -> Liveness:
    """The worker processes (:func:`process_liveness`) and, as detail, how many tries run."""
    workers = process_liveness(
        session=session, kind=ProcessKind.WORKER, now=now, threshold=threshold
    )
    running = _count(
        session,
        sa.select(TaskInstance.id).where(TaskInstance.state == TaskInstanceState.RUNNING),
    )
    tries = f"{running} running task{'s' if running != 1 else ''}"
    return Liveness(
        workers.name, workers.status, workers.last_heartbeat, f"{workers.detail}; {tries}"
    )
