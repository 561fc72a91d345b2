"""Heartbeats of Loom's processes: each scheduler records its last tick (the health check
reads them); workers and notifiers record themselves in ``process_heartbeat`` (the home
page reads them, :mod:`engine.runtime.heartbeat` writes them). Functions take ``session``
keyword-only and never commit."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.models import ProcessHeartbeat, ProcessKind, SchedulerHeartbeat

FORGET_AFTER = timedelta(hours=24)
"""A worker or notifier silent this long is forgotten: its row is deleted when another
starts (docs/decisions.md, \"Process heartbeats\")."""


def process_id() -> str:
    """This process's id in every heartbeat table: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def scheduler_id() -> str:
    """This process's id as a scheduler: ``host:pid``."""
    return process_id()


def record_scheduler_heartbeat(*, session: Session, now: datetime, id: str | None = None) -> None:
    """Record that scheduler ``id`` (default: this process) ticked at ``now``. Never commits.

    Two schedulers of one process share the id; the first insert wins and the other
    updates (the insert runs in a SAVEPOINT, so the caller's transaction survives).
    """
    key = id or scheduler_id()
    _upsert(
        session,
        sa.update(SchedulerHeartbeat).where(SchedulerHeartbeat.scheduler_id == key),
        now,
        lambda: SchedulerHeartbeat(
            scheduler_id=key, hostname=_host(key), started_at=now, last_heartbeat_at=now
        ),
    )


def record_process_heartbeat(
    *, session: Session, kind: ProcessKind, now: datetime, id: str | None = None
) -> None:
    """Record that the ``kind`` process ``id`` (default: this process) is alive at ``now``;
    a row is inserted on its first beat, as for schedulers (two of one kind in one process,
    tests' threads, share it)."""
    key = id or process_id()
    _upsert(
        session,
        sa.update(ProcessHeartbeat).where(_process(key, kind)),
        now,
        lambda: ProcessHeartbeat(
            process_id=key,
            kind=kind.value,
            hostname=_host(key),
            pid=_pid(key),
            started_at=now,
            last_heartbeat_at=now,
        ),
    )


def remove_process_heartbeat(*, session: Session, kind: ProcessKind, id: str | None = None) -> None:
    """Delete the row of the ``kind`` process ``id`` (default: this one): it stopped cleanly."""
    session.execute(sa.delete(ProcessHeartbeat).where(_process(id or process_id(), kind)))


def forget_silent_processes(
    *,
    session: Session,
    now: datetime,
    hostname: str | None = None,
    alive: Callable[[int], bool] | None = None,
) -> int:
    """Delete the rows of workers and notifiers silent for :data:`FORGET_AFTER`, and those of
    ``hostname`` whose pid is not ``alive`` (a process of this host that died); how many."""
    old = ProcessHeartbeat.last_heartbeat_at < now - FORGET_AFTER
    deleted = _rowcount(session.execute(sa.delete(ProcessHeartbeat).where(old)))
    if hostname is None or alive is None:
        return deleted
    here = session.execute(
        sa.select(ProcessHeartbeat.process_id, ProcessHeartbeat.pid).where(
            ProcessHeartbeat.hostname == hostname
        )
    )
    dead = {key for key, pid in here if not alive(pid)}
    if dead:
        where = ProcessHeartbeat.process_id.in_(sorted(dead))
        deleted += _rowcount(session.execute(sa.delete(ProcessHeartbeat).where(where)))
    return deleted


def _process(key: str, kind: ProcessKind) -> sa.ColumnElement[bool]:
    return sa.and_(ProcessHeartbeat.process_id == key, ProcessHeartbeat.kind == kind.value)


def _host(key: str) -> str:
    return key.rsplit(":", 1)[0]


def _pid(key: str) -> int:
    tail = key.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _upsert(session: Session, touch: sa.Update, now: datetime, new: Callable[[], Any]) -> None:
    """Set ``last_heartbeat_at`` on the row ``touch`` updates, or insert ``new()`` when there
    is none; a concurrent insert of the same row (in a SAVEPOINT) makes it an update."""
    if _touch(session, touch, now):
        return
    try:
        with session.begin_nested():
            session.add(new())
            session.flush()
    except IntegrityError:  # another writer of this process inserted it first
        _touch(session, touch, now)


def _touch(session: Session, touch: sa.Update, now: datetime) -> bool:
    """Run ``touch`` at ``now``; False when it updated no row."""
    return bool(_rowcount(session.execute(touch.values(last_heartbeat_at=now))))


def _rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE ``result`` changed."""
    return int(getattr(result, "rowcount", 0) or 0)


def latest_scheduler_heartbeat(*, session: Session) -> datetime | None:
    """When any scheduler last ticked; None when none ever did."""
    stmt = sa.select(SchedulerHeartbeat.last_heartbeat_at)
    return session.scalar(stmt.order_by(SchedulerHeartbeat.last_heartbeat_at.desc()).limit(1))
