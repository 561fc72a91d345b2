"""What leaves Loom: the transactional outbox, dead letters and notification deliveries.

A state change writes an :class:`OutboxMessage` in its own transaction; a dispatcher
(:mod:`engine.delivery.dispatcher`) delivers it afterwards, with retries, and marks it
delivered.
"""

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
from engine.models.dags import ID_LENGTH, PATH_LENGTH
from engine.timeutil import utcnow


class OutboxKind(StrEnum):
    """What an outbox message asks for; each kind has its handler in ``engine.delivery``."""

    DEAD_LETTER = "dead_letter"
    """Publish a dead letter to RabbitMQ, or remove it (the outbox relay)."""
    NOTIFICATION = "notification"
    """An alert event; the notifier fans it out into :class:`NotificationDelivery` rows."""
    DAG_CALLBACK = "dag_callback"
    """Run a finished run's DAG callbacks on a worker (the outbox relay enqueues the job)."""


class DeliveryStatus(StrEnum):
    """Where a side effect stands: an outbox message, or one notification delivery.

    ``FAILED`` means the notifier gave up on a delivery; outbox messages are retried
    until they are delivered and never reach it.
    """

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeadLetterState(StrEnum):
    """Where a dead letter stands: parked, replayed as a new try, or discarded."""

    PENDING = "pending"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class OutboxMessage(Base):
    """A side effect to deliver after the commit that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_state_available_at", "state", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(StrEnumType(OutboxKind))
    dedup_key: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH), unique=True)
    """Set it to make writing the same message twice a no-op (a unique key)."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[DeliveryStatus] = mapped_column(
        StrEnumType(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    """A dispatcher may try to deliver the message at this time or later (backoff, or a
    claim's lease)."""
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DeadLetter(Base):
    """A task attempt that failed for good, parked for a person to replay or discard."""

    __tablename__ = "dead_letter"
    __table_args__ = (
        sa.Index("ix_dead_letter_dag_id_run_id_task_id", "dag_id", "run_id", "task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dag_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    run_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    task_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    map_index: Mapped[int] = mapped_column(default=-1, server_default="-1")
    try_number: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[DeadLetterState] = mapped_column(
        StrEnumType(DeadLetterState), default=DeadLetterState.PENDING, index=True
    )
    created_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    published: Mapped[bool] = mapped_column(default=False)
    """True once the outbox relay has published it to RabbitMQ."""


class NotificationDelivery(Base):
    """One event sent (or being sent) on one channel to one target; unique per triple."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "channel", "target"),
        sa.Index("ix_notification_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_notification_delivery_dag_id_run_id", "dag_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    event_type: Mapped[str] = mapped_column(sa.String(64), default="")
    channel: Mapped[str] = mapped_column(sa.String(64))
    """``email`` or ``webhook``."""
    target: Mapped[str] = mapped_column(sa.String(PATH_LENGTH))
    """``smtp`` for e-mail, the webhook's name for a webhook."""
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """E-mail addresses; empty for a webhook."""
    dag_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    run_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    task_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """The event document (schema version 1, with its ``url``) this delivery sends."""
    status: Mapped[DeliveryStatus] = mapped_column(
        StrEnumType(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    """The notifier may try this delivery at this time or later (backoff, or a claim)."""
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
