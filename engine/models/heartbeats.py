"""Liveness of Loom's processes: schedulers (read by the health check), workers and
notifiers (read by the home page)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base, UtcDateTime
from engine.models.dags import ID_LENGTH


class HeartbeatColumns:
    """What every heartbeat table holds besides its process's id: where the process runs,
    when it started and when it last beat (the column liveness checks compare)."""

    hostname: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class SchedulerHeartbeat(HeartbeatColumns, Base):
    """The last tick of one scheduler process (``host:pid``); a row per process."""

    __tablename__ = "scheduler_heartbeat"

    scheduler_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)


class ProcessKind(StrEnum):
    """The processes that heartbeat themselves in :class:`ProcessHeartbeat`."""

    WORKER = "worker"
    """An RQ worker (``loom worker``) or a local executor's pool process (standalone)."""
    NOTIFIER = "notifier"


class ProcessHeartbeat(HeartbeatColumns, Base):
    """The last heartbeat of one worker or notifier process (``host:pid``), written every
    ``scheduler.heartbeat_interval`` while it runs and deleted when it stops cleanly."""

    __tablename__ = "process_heartbeat"

    process_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    pid: Mapped[int] = mapped_column(sa.Integer())
