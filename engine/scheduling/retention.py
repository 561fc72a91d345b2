"""The daily retention step: ``core.retention_days`` applied by the scheduler.

Once a day a scheduler deletes what :func:`engine.services.cleanup.clean` deletes, older
than ``retention_days`` (0, the default, keeps everything). Schedulers keep no state
between ticks, so "once a day" is read from the database: each clean leaves an audit
entry (action :data:`RETENTION_ACTION`, user ``scheduler``) with what it deleted, and the
step runs when the newest such entry is a day old or there is none. Two schedulers that
check at the same moment may both clean; the second finds little left to delete, and
batches skip rows the other holds.

Unlike the other steps it commits as it goes (its batches are bounded transactions), so
it takes the session factory rather than a session.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.models import AuditLog
from engine.services.audit import Outcome, record
from engine.services.cleanup import CleanReport, clean

logger = logging.getLogger(__name__)

RETENTION_ACTION = "db.retention_clean"
"""The audit log's action of the scheduler's daily clean."""
RETENTION_USER = "scheduler"
RETENTION_EVERY = timedelta(days=1)
"""How often the retention clean runs."""
RETENTION_CHECK_EVERY = timedelta(hours=1)
"""How often a scheduler reads the audit log to see whether the clean is due."""


def last_retention_clean(*, session: Session) -> datetime | None:
    """When a scheduler last applied the retention, from the audit log; None: never."""
    return session.scalar(
        sa.select(sa.func.max(AuditLog.created_at)).where(
            AuditLog.action == RETENTION_ACTION, AuditLog.username == RETENTION_USER
        )
    )


def apply_retention(
    *, session_factory: sessionmaker[Session], now: datetime, days: int
) -> CleanReport | None:
    """Clean everything older than ``days`` when the last clean is a day old (or never
    was); the report, or None when ``days`` is 0 or the clean is not due."""
    if days <= 0:
        return None
    with session_factory() as session:
        last = last_retention_clean(session=session)
    if last is not None and now - last < RETENTION_EVERY:
        return None
    before = now - timedelta(days=days)
    report = clean(session_factory=session_factory, before=before)
    with session_factory.begin() as session:
        record(
            session=session,
            action=RETENTION_ACTION,
            outcome=Outcome.SUCCESS,
            now=now,
            username=RETENTION_USER,
            details={"before": before.isoformat(), "retention_days": days, **report.counts},
        )
    logger.info("retention: deleted %s rows older than %s days", report.total, days)
    return report
