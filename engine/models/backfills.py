"""Backfills: a request for the runs of a DAG's schedule between two dates, run at most
``max_active_runs`` at a time, pausable and cancellable (Airflow 3's ``backfill``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import (
    Base,
    JSONType,
    StrEnumType,
    UtcDateTime,
    created_at_column,
    updated_at_column,
)
from engine.models.dags import ID_LENGTH


class ReprocessBehavior(StrEnum):
    """What a backfill does with a logical date that already has a finished run."""

    NONE = "none"
    """Leave it."""
    FAILED = "failed"
    """Run it again when it failed."""
    COMPLETED = "completed"
    """Run it again when it finished, failed or not."""


class Backfill(Base):
    """One backfill of ``dag_id`` over ``[from_date, to_date]``; its runs carry its id."""

    __tablename__ = "backfill"

    id: Mapped[int] = mapped_column(primary_key=True)
    dag_id: Mapped[str] = mapped_column(
        sa.String(ID_LENGTH), sa.ForeignKey("dag.dag_id", ondelete="CASCADE"), index=True
    )
    from_date: Mapped[datetime] = mapped_column(UtcDateTime())
    to_date: Mapped[datetime] = mapped_column(UtcDateTime())
    dag_run_conf: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    is_paused: Mapped[bool] = mapped_column(default=False)
    reprocess_behavior: Mapped[ReprocessBehavior] = mapped_column(
        StrEnumType(ReprocessBehavior), default=ReprocessBehavior.NONE
    )
    max_active_runs: Mapped[int] = mapped_column(default=10)
    run_backwards: Mapped[bool] = mapped_column(default=False)
    triggered_by: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """Set when every run has finished, or when the backfill was cancelled."""
