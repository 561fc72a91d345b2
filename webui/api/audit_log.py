"""``/auditLog``: read-only, filtered by user, action, outcome, target and time (the
filters are ``/api/v2``'s, :mod:`webui.api.v2.audit_log`)."""

from __future__ import annotations

from typing import Any

from engine.security.roles import Resource
from engine.services.audit import AUDIT_ORDER
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import AuditEntrySchema, AuditListArgs
from webui.api.v2.audit_log import filtered_audit_log

blp = api_blueprint("audit_log", "/auditLog", "Audit log", Resource.AUDIT_LOG)


@blp.listing("", AuditEntrySchema, AuditListArgs)
def list_audit_log(args: dict[str, Any]) -> Any:
    """List audit entries, newest first by default."""
    return paged(filtered_audit_log(args), args, AUDIT_ORDER, "-id")
