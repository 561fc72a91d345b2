"""``/auditLog``: read-only, filtered by user, action, outcome, target and time."""

from __future__ import annotations

from typing import Any

from engine.security.roles import Resource
from engine.services.audit import AUDIT_ORDER, AuditFilter, audit_query
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import AuditEntrySchema, AuditListArgs

blp = api_blueprint("audit_log", "/auditLog", "Audit log", Resource.AUDIT_LOG)


@blp.listing("", AuditEntrySchema, AuditListArgs)
def list_audit_log(args: dict[str, Any]) -> Any:
    """List audit entries, newest first by default."""
    filters = AuditFilter(
        username=args["username"],
        action=args["action"],
        outcome=args["outcome"],
        target_prefix=args["target"],
        dag_id=args["dag_id"],
        since=args["since"],
        until=args["until"],
    )
    return paged(audit_query(filters), args, AUDIT_ORDER, "-id")
