"""The transactional outbox: side effects written with the state change that causes them.

A state change calls :func:`enqueue` in its own transaction; a dispatcher (see
:mod:`engine.delivery.dispatcher`) then claims due rows with :func:`claim_due`, delivers
them outside any transaction, and records the outcome with :func:`mark_delivered` or
:func:`mark_failed_attempt`. A failed delivery is retried forever with capped
exponential backoff: an outage delays delivery and loses nothing.

Nothing here commits; the caller owns the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.models import DeliveryStatus, OutboxKind, OutboxMessage

logger = logging.getLogger(__name__)

BACKOFF_CAP = timedelta(minutes=5)
"""The longest pause between two delivery attempts of one message."""

CLAIM_LEASE = timedelta(seconds=30)
"""How long a claimed message is hidden from other dispatchers while one delivers it."""

MAX_ERROR_CHARS = 4000
"""``last_error`` keeps at most this many characters of the error."""


def enqueue(
    *,
    session: Session,
    kind: OutboxKind,
    payload: dict[str, Any],
    dedup_key: str | None,
    now: datetime,
) -> OutboxMessage:
    """Add a pending message, due at ``now``; a repeated ``dedup_key`` returns the first one.

    The insert runs in a SAVEPOINT, so losing a race on ``dedup_key`` leaves the
    caller's transaction usable.
    """
    if dedup_key is not None:
        existing = _by_dedup_key(session, dedup_key)
        if existing is not None:
            return existing
    message = OutboxMessage(
        kind=kind,
        payload=payload,
        dedup_key=dedup_key,
        state=DeliveryStatus.PENDING,
        attempts=0,
        available_at=now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        if dedup_key is None:
            raise
        existing = _by_dedup_key(session, dedup_key)
        if existing is None:
            raise
        return existing
    logger.debug("outbox message %s (%s, %s) enqueued", message.id, kind, dedup_key)
    return message


def claim_due(
    *,
    session: Session,
    now: datetime,
    limit: int,
    kinds: Collection[OutboxKind] | None = None,
    lease: timedelta = CLAIM_LEASE,
) -> list[OutboxMessage]:
    """Pending messages due at ``now`` (oldest first), hidden from other dispatchers for
    ``lease``; ``kinds``: only these kinds.

    The rows stay ``pending``; their ``available_at`` moves to ``now + lease``, so that a
    dispatcher that dies before recording the outcome only delays them. PostgreSQL skips
    rows another transaction has locked (``FOR UPDATE SKIP LOCKED``).
    """
    stmt = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.state == DeliveryStatus.PENDING, OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if kinds is not None:
        stmt = stmt.where(OutboxMessage.kind.in_(list(kinds)))
    messages = list(session.scalars(stmt))
    for message in messages:
        message.available_at = now + lease
    session.flush()
    return messages


def mark_delivered(*, session: Session, message: OutboxMessage, now: datetime) -> None:
    """Record that ``message`` was delivered; no dispatcher will touch it again."""
    message.state = DeliveryStatus.DELIVERED
    message.delivered_at = now
    session.flush()
    logger.info("outbox message %s (%s) delivered", message.id, message.kind)


def mark_failed_attempt(
    *, session: Session, message: OutboxMessage, error: str, now: datetime
) -> None:
    """Record a failed delivery attempt and when to try again (see :func:`backoff`).

    The message stays pending: it is retried until it is delivered.
    """
    message.attempts = (message.attempts or 0) + 1
    message.last_error = error[-MAX_ERROR_CHARS:]
    message.available_at = now + backoff(message.attempts)
    session.flush()
    logger.warning(
        "outbox message %s (%s) attempt %s failed, next at %s: %s",
        message.id, message.kind, message.attempts, message.available_at, error,
    )  # fmt: skip


def backoff(attempts: int) -> timedelta:
    """Pause after ``attempts`` failed attempts: ``2**attempts`` seconds, at most 5 minutes."""
    exponent = min(max(attempts, 0), 16)  # 2**16 s is far past the cap already
    return min(timedelta(seconds=2**exponent), BACKOFF_CAP)


def _by_dedup_key(session: Session, dedup_key: str) -> OutboxMessage | None:
    stmt = sa.select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key)
    return session.scalars(stmt).one_or_none()
