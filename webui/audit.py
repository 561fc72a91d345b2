"""Audit of the API and the UI: every mutating request (and so every sign-in) leaves one entry.

- A change is audited **in its own transaction**: :func:`webui.db.commit` adds the
  request's entry before it commits, so every change has its entry or nothing changed
  (an entry that cannot be written fails the commit, and the request with it). The entry
  is ``success``, or what the view noted (a failed sign-in counts its failure and is
  ``denied`` in the same commit).
- A request that committed nothing is audited after its response, in a transaction of
  its own, with the response's status: a refused one (4xx: ``denied`` for 401, 403 and
  429, ``refused`` for the others, such as 409 and 422) or a failed one (5xx, ``error``)
  after its uncommitted changes are rolled back; a successful one that changed nothing
  in the database (a token refresh) as ``success``. Losing such an entry is logged.

A view may add to the entry through :func:`note` (the login view names the user who tried).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy.orm import Session

from engine.services import audit
from engine.timeutil import utcnow
from webui import db

logger = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/"
AUTH_PREFIX = "/auth/"
"""Airflow 3's login (``/api/v2``'s) and Loom's refresh and logout, outside the API's prefix."""
UI_BLUEPRINT = "ui"
DENIED_STATUSES = frozenset({401, 403, 429})


def init_app(app: Flask) -> None:
    """Record mutating API and UI requests made to ``app``."""
    db.before_commit(app, _record_with_the_change)
    app.after_request(_record_unless_committed)


def note(**values: Any) -> None:
    """Add ``user_id``, ``username``, ``details`` or ``outcome`` to this request's entry."""
    g.setdefault("loom_audit", {}).update(values)


def outcome_of(status: int) -> audit.Outcome:
    """How a response status reads in the audit log."""
    if status < 400:
        return audit.Outcome.SUCCESS
    if status in DENIED_STATUSES:
        return audit.Outcome.DENIED
    if status < 500:
        return audit.Outcome.REFUSED
    return audit.Outcome.ERROR


def _audited() -> bool:
    if not has_request_context() or request.method not in MUTATING:
        return False
    return request.path.startswith((API_PREFIX, AUTH_PREFIX)) or request.blueprint == UI_BLUEPRINT


def _record_with_the_change(session: Session) -> None:
    """Before the request's first commit: its entry, in the same transaction."""
    if not _audited() or g.get("loom_audit_added"):
        return
    outcome = g.get("loom_audit", {}).get("outcome", audit.Outcome.SUCCESS)
    _add_entry(session, outcome, {})
    g.loom_audit_added = True


def _record_unless_committed(response: Response) -> Response:
    if not _audited() or db.committed():
        return response
    status = response.status_code
    if status >= 400 and "loom_db" in g:
        # A refused change may be flushed, not committed: drop it (and, on SQLite, the
        # write lock it holds, which the entry's own transaction would wait for).
        db.session().rollback()
    try:
        with db.sessions().begin() as session:
            _add_entry(session, outcome_of(status), {"status": status})
    except Exception:  # the response stands; a lost refusal entry is logged, not hidden
        logger.exception("could not record the audit entry of %s %s", request.method, request.path)
    return response


def _add_entry(session: Session, outcome: audit.Outcome, details: dict[str, Any]) -> None:
    extra = g.get("loom_audit", {})
    user = g.get("loom_user")
    audit.record(
        session=session,
        action=request.endpoint or f"{request.method} {request.path}",
        outcome=outcome,
        now=utcnow(),
        user_id=extra.get("user_id", user.id if user is not None else None),
        username=extra.get("username", user.username if user is not None else None),
        source_ip=request.remote_addr,
        target=request.path,
        details={"method": request.method, **details, **extra.get("details", {})},
    )
