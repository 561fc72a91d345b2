"""``/api/v2/auditLog``: Loom's audit log in full (``/eventLogs`` shows it as Airflow's
event log): every filter, with outcome, target, source address and details. Read only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from engine.security.roles import Resource
from engine.services.audit import AUDIT_ORDER, AuditFilter, audit_query
from webui.api.schemas.admin import AuditEntrySchema, AuditFilters
from webui.api.v2.common import V2PageArgs, filters_in, page, v2_blueprint

blp = v2_blueprint(
    "audit_log", "/auditLog", "AuditLog (Loom): every change and sign-in", Resource.AUDIT_LOG
)


class AuditLogArgs(V2PageArgs, AuditFilters):
    """The list's filters and paging."""


def filtered_audit_log(args: Mapping[str, Any]) -> sa.Select[Any]:
    """The audit entries matching the list's filters in ``args``."""
    return audit_query(AuditFilter(**filters_in(args, AuditFilters)))


@blp.listing("", "audit_log", AuditEntrySchema, query=AuditLogArgs)
def list_audit_log(args: dict[str, Any]) -> Any:
    """List audit entries (filter by user, action, outcome, target, DAG, time), newest first."""
    return page("audit_log", filtered_audit_log(args), args, AUDIT_ORDER, "-id")
