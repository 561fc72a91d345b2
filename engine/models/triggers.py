"""Triggers of deferred task instances, and the triggerers that run them.

A ``trigger`` row is what a deferred task waits on: the class path and keyword arguments
that rebuild it (:func:`engine.authoring.triggers.base.build_trigger`). A triggerer
claims a row by writing its id in ``triggerer_id``; a row whose triggerer stopped
heartbeating (``triggerer_heartbeat``) is claimed again by another one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base, JSONType, UtcDateTime, created_at_column
from engine.models.dags import ID_LENGTH
from engine.models.heartbeats import HeartbeatColumns

CLASSPATH_LENGTH = 1000


class Trigger(Base):
    """One deferred wait: a task instance points at it by ``trigger_id``."""

    __tablename__ = "trigger"

    id: Mapped[int] = mapped_column(primary_key=True)
    classpath: Mapped[str] = mapped_column(sa.String(CLASSPATH_LENGTH))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """The keyword arguments, encoded as XCom values are (datetimes survive)."""
    created_at: Mapped[datetime] = created_at_column()
    triggerer_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH), index=True)
    """``host:pid`` of the triggerer running it; None until one claims it."""
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class TriggererHeartbeat(HeartbeatColumns, Base):
    """The last heartbeat of one triggerer process (``host:pid``)."""

    __tablename__ = "triggerer_heartbeat"

    triggerer_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    capacity: Mapped[int] = mapped_column(default=0)
    running: Mapped[int] = mapped_column(default=0)
    """Triggers it ran at its last heartbeat."""
