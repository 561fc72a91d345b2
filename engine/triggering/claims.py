"""The triggerer's database work: heartbeats, claims, and what fired triggers change.

Each function takes the caller's session and never commits. Claims follow Airflow's
rule: a triggerer takes triggers no one runs, or whose triggerer stopped heartbeating
for ``heartbeat_threshold``, up to its capacity, locking them with ``FOR UPDATE SKIP
LOCKED`` so that triggerers side by side never take the same one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.triggers.base import TaskDeferralError
from engine.execution.deferral import fail_deferred, resume_deferred
from engine.models import TaskInstance, Trigger, TriggererHeartbeat
from engine.scheduling.wakeup import request_wake
from engine.state import TaskInstanceState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriggerSpec:
    """What rebuilds a claimed trigger: its class path and (encoded) keyword arguments."""

    classpath: str
    kwargs: dict[str, Any]


def record_triggerer_heartbeat(
    *, session: Session, triggerer_id: str, now: datetime, capacity: int, running: int
) -> None:
    """Record that ``triggerer_id`` is alive at ``now``, running ``running`` triggers."""
    values = {"last_heartbeat_at": now, "capacity": capacity, "running": running}
    updated = session.execute(
        sa.update(TriggererHeartbeat)
        .where(TriggererHeartbeat.triggerer_id == triggerer_id)
        .values(**values)
    )
    if not getattr(updated, "rowcount", 0):  # one process owns its id: no insert race
        hostname = triggerer_id.rsplit(":", 1)[0]
        session.add(
            TriggererHeartbeat(
                triggerer_id=triggerer_id, hostname=hostname, started_at=now, **values
            )
        )
        session.flush()


def claim_triggers(
    *,
    session: Session,
    triggerer_id: str,
    now: datetime,
    capacity: int,
    threshold: timedelta,
) -> list[int]:
    """Take unclaimed triggers and those of silent triggerers, up to ``capacity`` in all;
    the ids taken."""
    mine = session.scalar(
        sa.select(sa.func.count()).select_from(Trigger).where(Trigger.triggerer_id == triggerer_id)
    )
    room = capacity - int(mine or 0)
    if room <= 0:
        return []
    alive = sa.select(TriggererHeartbeat.triggerer_id).where(
        TriggererHeartbeat.last_heartbeat_at >= now - threshold
    )
    ids = list(
        session.scalars(
            sa.select(Trigger.id)
            .where(sa.or_(Trigger.triggerer_id.is_(None), Trigger.triggerer_id.not_in(alive)))
            .order_by(Trigger.id)
            .limit(room)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            sa.update(Trigger)
            .where(Trigger.id.in_(ids))
            .values(triggerer_id=triggerer_id, claimed_at=now)
        )
        logger.info("triggerer %s claimed %s triggers", triggerer_id, len(ids))
    return ids


def claimed_triggers(*, session: Session, triggerer_id: str) -> dict[int, TriggerSpec]:
    """The triggers ``triggerer_id`` holds now (a fired, failed or timed-out one is gone)."""
    rows = session.execute(
        sa.select(Trigger.id, Trigger.classpath, Trigger.kwargs).where(
            Trigger.triggerer_id == triggerer_id
        )
    )
    return {row.id: TriggerSpec(row.classpath, row.kwargs) for row in rows}


def release_triggers(*, session: Session, triggerer_id: str) -> None:
    """Give back a stopping triggerer's triggers, so that another takes them at once."""
    session.execute(
        sa.update(Trigger)
        .where(Trigger.triggerer_id == triggerer_id)
        .values(triggerer_id=None, claimed_at=None)
    )
    session.execute(
        sa.delete(TriggererHeartbeat).where(TriggererHeartbeat.triggerer_id == triggerer_id)
    )


def record_fired(*, session: Session, trigger_id: int, payload: Any, now: datetime) -> int:
    """Resume the instances waiting on ``trigger_id`` with ``payload`` (encoded; the trigger
    row is deleted) and wake the schedulers to queue them; how many were resumed."""
    resumed = resume_deferred(session=session, trigger_id=trigger_id, payload=payload, now=now)
    if resumed:
        request_wake(session=session)
    return resumed


def record_failed(
    *, session: Session, trigger_id: int, message: str, traceback: str | None, now: datetime
) -> int:
    """Fail the instances waiting on ``trigger_id`` (retry rules apply); how many."""
    tis = session.scalars(
        sa.select(TaskInstance).where(
            TaskInstance.trigger_id == trigger_id,
            TaskInstance.state == TaskInstanceState.DEFERRED,
        )
    ).all()
    failed = fail_deferred(
        session=session,
        tis=tis,
        error=lambda _ti: TaskDeferralError(message),
        now=now,
        traceback=traceback,
    )
    session.execute(sa.delete(Trigger).where(Trigger.id == trigger_id))
    if failed:
        request_wake(session=session)
    return len(failed)
