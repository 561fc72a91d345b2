"""``/auditLog``: read-only, filtered by user, action, outcome, target and time."""

from __future__ import annotations

from typing import Any

from engine.security.roles import Action, Resource
from engine.services.audit import AUDIT_ORDER, AuditFilter, audit_query
from webui.api.blueprint import Blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import AuditEntrySchema, AuditListArgs
from webui.api.schemas.common import page_of
from webui.auth import requires

blp = Blueprint("audit_log", __name__, url_prefix="/api/v1/auditLog", description="Audit log")


@blp.route("", methods=["GET"])
@requires(Action.READ, Resource.AUDIT_LOG)
@blp.arguments(AuditListArgs, location="query")
@blp.response(200, page_of(AuditEntrySchema))
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
