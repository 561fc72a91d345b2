"""Scheduler heartbeats: each scheduler records its last tick; the health check reads them."""

from __future__ import annotations

import os
import socket
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.models import SchedulerHeartbeat


def scheduler_id() -> str:
    """This process's id as a scheduler: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def record_scheduler_heartbeat(*, session: Session, now: datetime, id: str | None = None) -> None:
    """Record that scheduler ``id`` (default: this process) ticked at ``now``. Never commits.

    Two schedulers of one process share the id; the first insert wins and the other
    updates (the insert runs in a SAVEPOINT, so the caller's transaction survives).
    """
    key = id or scheduler_id()
    if _touch(session, key, now):
        return
    row = SchedulerHeartbeat(
        scheduler_id=key, hostname=key.rsplit(":", 1)[0], started_at=now, last_heartbeat_at=now
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another scheduler of this process inserted it first
        _touch(session, key, now)


def _touch(session: Session, key: str, now: datetime) -> bool:
    """Update the row of ``key``; False when there is none."""
    stmt = sa.update(SchedulerHeartbeat).where(SchedulerHeartbeat.scheduler_id == key)
    result = session.execute(stmt.values(last_heartbeat_at=now))
    return bool(getattr(result, "rowcount", 0))


def latest_scheduler_heartbeat(*, session: Session) -> datetime | None:
    """When any scheduler last ticked; None when none ever did."""
    stmt = sa.select(SchedulerHeartbeat.last_heartbeat_at)
    return session.scalar(stmt.order_by(SchedulerHeartbeat.last_heartbeat_at.desc()).limit(1))
