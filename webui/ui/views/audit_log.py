"""The audit log (Admin): who did what, newest first, filtered by user, DAG, outcome, time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import render_template, request

from engine.errors import InvalidInputError
from engine.models import AuditLog
from engine.security.roles import Action, Resource
from engine.services.audit import AuditFilter, Outcome, audit_query
from engine.services.pagination import Page
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page
from webui.ui.views.admin import FormErrors

PAGE_SIZE = 50

_DAG_PATH = re.compile(r"/dags/(?P<dag_id>[^/]+)(?:/(?:runs|dagRuns)/(?P<run_id>[^/]+))?")
"""Where a UI or API path names a DAG, and a run of it."""


@dataclass(frozen=True)
class AuditRow:
    """An entry as the table shows it: with the DAG and run its path names, if any."""

    entry: AuditLog
    dag_id: str | None
    run_id: str | None


@bp.route("/audit")
@page(Action.READ, Resource.AUDIT_LOG)
def audit() -> tuple[str, int]:
    args = {
        name: request.args.get(name, "").strip() for name in ("user", "dag_id", "outcome", "since")
    }
    errors: FormErrors = {}
    try:
        since = _moment(args["since"])
        outcome = _outcome(args["outcome"])
    except InvalidInputError as refused:
        field, _, problem = str(refused).partition(": ")
        errors[field] = problem
        since, outcome = None, None
    filters = AuditFilter(
        username=args["user"] or None, outcome=outcome, dag_id=args["dag_id"], since=since
    )
    listed: Page[AuditLog] = list_page(
        audit_query(filters), order=[AuditLog.id.desc()], limit=PAGE_SIZE
    )
    rows = [_row(entry) for entry in listed.items]
    page_html = render_template(
        "ui/audit.html", page=listed, rows=rows, args=args, errors=errors, outcomes=list(Outcome)
    )
    return page_html, 422 if errors else 200


def _row(entry: AuditLog) -> AuditRow:
    found = _DAG_PATH.search(entry.target or "")
    if found is None:
        return AuditRow(entry, None, None)
    return AuditRow(entry, found.group("dag_id"), found.group("run_id"))


def _moment(text: str) -> datetime | None:
    """A date or date and time typed in the filter, read as UTC unless it says otherwise."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"since: {text!r} is not a date or a date and time (2026-01-05 or 2026-01-05T10:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _outcome(text: str) -> str | None:
    if not text:
        return None
    try:
        return Outcome(text).value
    except ValueError:
        choices = ", ".join(Outcome)
        raise InvalidInputError(f"outcome: {text!r} is not one of {choices}") from None
