"""Liveness of the scheduler processes, read by the health check."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base, UtcDateTime
from engine.models.dags import ID_LENGTH


class SchedulerHeartbeat(Base):
    """The last tick of one scheduler process (``host:pid``); a row per process."""

    __tablename__ = "scheduler_heartbeat"

    scheduler_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    hostname: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
