"""Audit of the API and the UI: every mutating request (and so every sign-in) leaves one entry.

Recorded after the response is decided, in a transaction of its own, so that refused
and failed requests are recorded as well as successful ones (the request's own
transaction may have been rolled back). A view may add to the entry through
:func:`note` (the login view names the user who tried).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, request

from engine import audit
from engine.models import utcnow
from webui import db

logger = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/"
UI_BLUEPRINT = "ui"


def init_app(app: Flask) -> None:
    """Record mutating API requests made to ``app``."""
    app.after_request(_record)


def note(**values: Any) -> None:
    """Add ``user_id``, ``username`` or ``details`` to this request's audit entry."""
    g.setdefault("loom_audit", {}).update(values)


def outcome_of(status: int) -> audit.Outcome:
    """How a response status reads in the audit log."""
    if status < 400:
        return audit.Outcome.SUCCESS
    if status in (401, 403, 429):
        return audit.Outcome.DENIED
    return audit.Outcome.ERROR


def _record(response: Response) -> Response:
    audited = request.path.startswith(API_PREFIX) or request.blueprint == UI_BLUEPRINT
    if request.method not in MUTATING or not audited:
        return response
    extra = g.get("loom_audit", {})
    user = g.get("loom_user")
    if response.status_code >= 400 and "loom_db" in g:
        # A refused change may be flushed, not committed: drop it (and, on SQLite, the
        # write lock it holds, which the entry's own transaction would wait for).
        db.session().rollback()
    try:
        with db.sessions().begin() as session:
            audit.record(
                session=session,
                action=request.endpoint or f"{request.method} {request.path}",
                outcome=outcome_of(response.status_code),
                now=utcnow(),
                user_id=extra.get("user_id", user.id if user is not None else None),
                username=extra.get("username", user.username if user is not None else None),
                source_ip=request.remote_addr,
                target=request.path,
                details={
                    "method": request.method,
                    "status": response.status_code,
                    **extra.get("details", {}),
                },
            )
    except Exception:  # the response stands; a lost audit entry is logged, not hidden
        logger.exception("could not record the audit entry of %s %s", request.method, request.path)
    return response
