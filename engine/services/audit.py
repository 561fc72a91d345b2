"""The audit log: who did what, to what, from where, and how it ended.

Entries are only ever added (:func:`record`) and read (:func:`audit_query`). The
webserver records every mutating request and every sign-in, a change's entry in the
change's own transaction (see :mod:`webui.audit`); the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import AuditLog
from engine.models.dags import ID_LENGTH, PATH_LENGTH
from engine.services.pagination import order_columns


class Outcome(StrEnum):
    """How an audited action ended."""

    SUCCESS = "success"
    """Done; written in the same transaction as the change."""
    DENIED = "denied"
    """Not allowed: not signed in, no permission, or throttled (401, 403, 429)."""
    REFUSED = "refused"
    """Refused for what was asked: a conflict, invalid input, nothing found (other 4xx)."""
    ERROR = "error"
    """Failed on the server's side (5xx); nothing was changed."""


@dataclass(frozen=True)
class AuditFilter:
    """What to keep when listing the audit log; None keeps everything."""

    username: str | None = None
    action: str | None = None
    outcome: str | None = None
    target_prefix: str | None = None
    dag_id: str | None = None
    """Entries whose target is a path of this DAG (``/dags/<dag_id>`` in the UI or the API)."""
    since: datetime | None = None
    until: datetime | None = None


def record(
    *,
    session: Session,
    action: str,
    outcome: Outcome,
    now: datetime,
    user_id: int | None = None,
    username: str | None = None,
    source_ip: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one entry; long values are cut to their column's width. Never commits."""
    entry = AuditLog(
        created_at=now,
        user_id=user_id,
        username=_cut(username, ID_LENGTH),
        source_ip=_cut(source_ip, 64),
        action=_cut(action, ID_LENGTH) or "",
        target=_cut(target, PATH_LENGTH),
        outcome=outcome.value,
        details=details or {},
    )
    session.add(entry)
    session.flush()
    return entry


def audit_query(filters: AuditFilter) -> sa.Select[Any]:
    """The entries matching ``filters`` (unordered: the caller pages them)."""
    stmt = sa.select(AuditLog)
    if filters.username is not None:
        stmt = stmt.where(AuditLog.username == filters.username)
    if filters.action is not None:
        stmt = stmt.where(AuditLog.action == filters.action)
    if filters.outcome is not None:
        stmt = stmt.where(AuditLog.outcome == filters.outcome)
    if filters.target_prefix is not None:
        stmt = stmt.where(AuditLog.target.startswith(filters.target_prefix, autoescape=True))
    if filters.dag_id:
        stmt = stmt.where(_about_dag(filters.dag_id))
    if filters.since is not None:
        stmt = stmt.where(AuditLog.created_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditLog.created_at <= filters.until)
    return stmt


def _about_dag(dag_id: str) -> sa.ColumnElement[bool]:
    under = f"/dags/{dag_id}"
    return sa.or_(
        AuditLog.target.endswith(under, autoescape=True),
        AuditLog.target.contains(f"{under}/", autoescape=True),
    )


AUDIT_ORDER = order_columns(AuditLog.id, AuditLog.created_at, AuditLog.username, AuditLog.action)
"""Columns the audit log may be ordered by."""


def _cut(value: str | None, width: int) -> str | None:
    return None if value is None else value[:width]
