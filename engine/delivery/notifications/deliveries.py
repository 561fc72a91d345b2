"""The deliveries table: one row per (event, channel, target), the notifier's own queue.

A row is ``pending`` until it is ``delivered`` or ``failed`` (given up). The notifier
claims a due row by moving its ``next_attempt_at`` past the attempt (a lease: another
notifier skips it meanwhile) and records the outcome with a compare-and-set on that
claim, so a notifier that outlived its lease changes nothing. ``attempts`` counts tries
that reached the receiver; a receiver that cannot be reached at all is retried without
counting, so an outage never uses up ``max_attempts``.

Nothing here commits; the caller owns the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.config.masking import mask_urls_in
from engine.delivery.notifications.routing import PlannedDelivery
from engine.errors import ConflictError, NotFoundError
from engine.models import DeliveryStatus, NotificationDelivery
from engine.services.pagination import order_columns

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
"""``last_error`` keeps at most this many characters."""


def shown_error(error: str) -> str:
    """A delivery's error as it may be stored and shown: URLs masked to their host (a
    webhook URL is often its credential), also in rows written before masking existed."""
    return mask_urls_in(error, hide_paths=True)


D = NotificationDelivery


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery, as the channel that sends it needs it (no session attached)."""

    id: int
    event_id: str
    event_type: str
    channel: str
    target: str
    recipients: tuple[str, ...]
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    claim: datetime
    """The ``next_attempt_at`` the claim wrote: the compare-and-set token of the outcome."""


def add_deliveries(
    *, session: Session, event: dict[str, Any], plans: Sequence[PlannedDelivery], now: datetime
) -> list[NotificationDelivery]:
    """One pending row per plan (a plan with an ``error`` is failed at once)."""
    rows = []
    for plan in plans:
        row = NotificationDelivery(
            event_id=event["event_id"],
            event_type=event["event_type"],
            channel=plan.channel,
            target=plan.target,
            recipients=list(plan.recipients),
            dag_id=event.get("dag_id"),
            run_id=event.get("run_id"),
            task_id=event.get("task_id"),
            payload=event,
            status=DeliveryStatus.FAILED if plan.error else DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            last_error=plan.error,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
        if plan.error:
            logger.warning("event %s: %s delivery to %s: %s", row.event_id, plan.channel,
                           plan.target, plan.error)  # fmt: skip
    session.flush()
    return rows


def claim_next(
    *,
    session: Session,
    now: datetime,
    until: datetime,
    skip: Collection[tuple[str, str]] = (),
) -> DeliveryJob | None:
    """The oldest due pending delivery, leased until ``until``; None when none is due.

    ``skip`` leaves out (channel, target) pairs (those that just failed in this pass).
    PostgreSQL skips rows another notifier has locked (``FOR UPDATE SKIP LOCKED``).
    """
    stmt = (
        sa.select(D)
        .where(D.status == DeliveryStatus.PENDING, D.next_attempt_at <= now)
        .order_by(D.next_attempt_at, D.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    for channel, target in skip:
        stmt = stmt.where(sa.not_(sa.and_(D.channel == channel, D.target == target)))
    row = session.scalars(stmt).one_or_none()
    if row is None:
        return None
    row.next_attempt_at = until
    session.flush()
    return DeliveryJob(
        id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        channel=row.channel,
        target=row.target,
        recipients=tuple(row.recipients or ()),
        payload=dict(row.payload or {}),
        attempts=row.attempts,
        created_at=row.created_at,
        claim=until,
    )


def record_delivered(
    *, session: Session, job: DeliveryJob, now: datetime, note: str | None = None
) -> bool:
    """Mark the delivery sent (``note``: a partial refusal worth showing). False if lost."""
    return _settle(
        session, job, status=DeliveryStatus.DELIVERED, attempts=job.attempts + 1,
        last_error=note, delivered_at=now, next_attempt_at=now,
    )  # fmt: skip


def record_retry(
    *, session: Session, job: DeliveryJob, error: str, retry_at: datetime, counted: bool
) -> bool:
    """Keep the delivery pending until ``retry_at``; ``counted``: the try reached the
    receiver and counts against ``max_attempts``. False if the claim was lost."""
    return _settle(
        session, job, status=DeliveryStatus.PENDING,
        attempts=job.attempts + (1 if counted else 0), last_error=error,
        next_attempt_at=retry_at,
    )  # fmt: skip


def record_given_up(*, session: Session, job: DeliveryJob, error: str, now: datetime) -> bool:
    """Mark the delivery failed for good (a permanent refusal, or no attempts left)."""
    return _settle(
        session, job, status=DeliveryStatus.FAILED, attempts=job.attempts + 1,
        last_error=error, next_attempt_at=now,
    )  # fmt: skip


def hold_target(
    *, session: Session, channel: str, target: str, now: datetime, until: datetime
) -> int:
    """Make the target's other deliveries due at ``now`` wait until ``until`` (no attempt).

    After a try failed because the receiver is down or overloaded, one probe per backoff
    period is enough; sending the rest meanwhile would only add load and time. Rows
    claimed by another notifier have ``next_attempt_at`` in the future and are left alone.
    """
    result = session.execute(
        sa.update(D)
        .where(
            D.channel == channel,
            D.target == target,
            D.status == DeliveryStatus.PENDING,
            D.next_attempt_at <= now,
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _settle(session: Session, job: DeliveryJob, **values: Any) -> bool:
    if values.get("last_error"):
        values["last_error"] = shown_error(str(values["last_error"]))[-MAX_ERROR_CHARS:]
    result = session.execute(
        sa.update(D)
        .where(
            D.id == job.id,
            D.status == DeliveryStatus.PENDING,
            D.next_attempt_at == job.claim,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    won = bool(getattr(result, "rowcount", 0))
    if not won:
        logger.warning("delivery %s (%s to %s): outcome discarded, its claim was taken over",
                       job.id, job.channel, job.target)  # fmt: skip
    return won


def deliveries(
    *,
    dag_ids: Collection[str] | None = None,
    event_id: str | None = None,
    event_type: str | None = None,
    channel: str | None = None,
    target: str | None = None,
    status: DeliveryStatus | None = None,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
) -> sa.Select[Any]:
    """A SELECT of deliveries matching every filter given (``dag_ids``: visible DAGs)."""
    stmt = sa.select(D)
    if dag_ids is not None:
        stmt = stmt.where(D.dag_id.in_(sorted(dag_ids)))
    filters: list[tuple[Any, object]] = [
        (D.event_id, event_id), (D.event_type, event_type), (D.channel, channel),
        (D.target, target), (D.status, status), (D.dag_id, dag_id), (D.run_id, run_id),
        (D.task_id, task_id),
    ]  # fmt: skip
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


DELIVERY_ORDER = order_columns(D.id, D.created_at, D.updated_at, D.next_attempt_at, D.dag_id)
"""Columns delivery lists may be ordered by."""


def get_delivery(
    *, session: Session, id: int, dag_ids: Collection[str] | None = None
) -> NotificationDelivery:
    """Delivery ``id``; :class:`NotFoundError` when there is none, or (with ``dag_ids``, a
    reader's DAGs) when it is about another DAG or about none."""
    row = session.get(D, id)
    if row is None or (dag_ids is not None and row.dag_id not in dag_ids):
        raise NotFoundError(f"notification {id} not found")
    return row


def retry_delivery(
    *, session: Session, id: int, now: datetime, dag_ids: Collection[str] | None = None
) -> NotificationDelivery:
    """Make delivery ``id``, which the notifier gave up on (``failed``), pending and due
    at ``now`` with its attempts reset, so the next pass sends it again (same event id:
    a receiver that did get it can drop the copy). :class:`NotFoundError` as
    :func:`get_delivery`; :class:`ConflictError` for a delivery that has not failed. Its
    ``last_error`` stays until the next attempt replaces it."""
    row = get_delivery(session=session, id=id, dag_ids=dag_ids)
    result = session.execute(
        sa.update(D)
        .where(D.id == id, D.status == DeliveryStatus.FAILED)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if not getattr(result, "rowcount", 0):
        raise ConflictError(
            f"notification {id} is {row.status.value}: only a failed (given up) delivery "
            "can be retried"
        )
    logger.info("delivery %s (%s to %s of event %s): retried by hand", id, row.channel,
                row.target, row.event_id)  # fmt: skip
    return row
