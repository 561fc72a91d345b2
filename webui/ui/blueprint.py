"""The UI's blueprint: who is signed in, CSRF, the template helpers, HTML error pages."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, g, render_template
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException

from engine.errors import LoomError
from engine.models import DagWarning, ParseImportError
from engine.security.roles import Action, Resource
from engine.services.brokenfiles import BrokenFile, broken_dag
from engine.services.dagdetails import DagDetails, dag_details
from engine.services.dags import dag_warning_query, import_error_query
from engine.services.pagination import Page, paginate
from engine.services.schedule import ScheduleOverview, schedule_overview
from engine.timeutil import utcnow
from webui import db
from webui.auth import visible_dag_ids
from webui.errors import STATUS_BY_ERROR
from webui.ui import present
from webui.ui.markdown import render_markdown
from webui.ui.session import can, check_csrf, csrf_token, current_user, load_sign_in, store_cookies

logger = logging.getLogger(__name__)

bp = Blueprint("ui", __name__, static_folder="../static", static_url_path="/ui-static")

IMPORT_ERRORS_SHOWN = 10
"""A banner (import errors, DAG warnings) lists this many at most, and says how many in all."""


@bp.before_request
def _before() -> None:
    load_sign_in()
    check_csrf()


bp.after_request(store_cookies)


@bp.record_once
def _template_helpers(state: BlueprintSetupState) -> None:
    """Globals rather than context, so that imported macros see them too."""
    state.app.jinja_env.globals.update(
        can=can,
        csrf_token=csrf_token,
        current_user=current_user,
        import_errors=_import_errors,
        dag_warnings=_dag_warnings,
        dag_file=_dag_file,
        dag_details=_dag_details,
        schedule_overview=_schedule_overview,
        dag_import_error=_dag_import_error,
        markdown=render_markdown,
        **present.TEMPLATE_HELPERS,
    )


def _dag_details(dag_id: str) -> DagDetails:
    """What one DAG's pages show of its serialized settings (display name, owners' links,
    docs)."""
    return dag_details(session=db.session(), dag_ids=[dag_id])[dag_id]


def _schedule_overview(dag_id: str) -> ScheduleOverview:
    """One DAG's schedule in words and its next runs (planned from the database)."""
    return schedule_overview(session=db.session(), dag_id=dag_id, now=utcnow())


def _dag_import_error(dag_id: str) -> BrokenFile | None:
    """Why the DAG's file does not import now (its page shows it); None when it does."""
    return broken_dag(session=db.session(), dag_id=dag_id)


def _dag_file(filename: str) -> str:
    return present.dag_file(filename, current_app.extensions["loom.settings"].core.dags_folder)


def _import_errors() -> tuple[list[ParseImportError], int]:
    """The broken DAG files the signed-in user may see (the first few) and their number."""
    if not can(Action.READ, Resource.IMPORT_ERRORS):
        return [], 0
    dag_ids = visible_dag_ids(Action.READ, Resource.IMPORT_ERRORS)
    stmt = import_error_query(session=db.session(), dag_ids=dag_ids)
    return _first_few(stmt, ParseImportError.filename)


def _dag_warnings() -> tuple[list[DagWarning], int]:
    """Warnings of DAGs the signed-in user may see (the first few) and their number."""
    if not can(Action.READ, Resource.DAGS):
        return [], 0
    return _first_few(
        dag_warning_query(dag_ids=visible_dag_ids(Action.READ, Resource.DAGS)),
        DagWarning.dag_id,
    )


def _first_few(stmt: sa.Select[Any], order: Any) -> tuple[list[Any], int]:
    """What a banner lists: the first :data:`IMPORT_ERRORS_SHOWN` rows, and how many in all."""
    first: Page[Any] = paginate(
        session=db.session(), stmt=stmt, order=[order], limit=IMPORT_ERRORS_SHOWN, offset=0
    )
    return first.items, first.total


@bp.errorhandler(LoomError)
def _loom_error(exc: LoomError) -> tuple[str, int]:
    status = next((code for kind, code in STATUS_BY_ERROR if isinstance(exc, kind)), 400)
    return render_template("ui/error.html", status=status, message=str(exc)), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int] | Response:
    status = exc.code or 500
    return render_template("ui/error.html", status=status, message=exc.description), status


def unrouted_error_page(exc: HTTPException) -> Response:
    """The HTML error page for a URL no route answers (outside the API), with the signed-in
    user's navigation; :mod:`webui.errors` calls it through ``app.extensions``."""
    load_sign_in()
    status = exc.code or 500
    page = render_template("ui/error.html", status=status, message=exc.description)
    response = current_app.make_response((page, status, exc.get_headers()))
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return store_cookies(response)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> tuple[str, int]:
    logger.exception("UI request failed")
    if "loom_db" in g:  # the error page reads the database: not through a failed transaction
        db.session().rollback()
    message = "something went wrong on the server; the error is in its log"
    return render_template("ui/error.html", status=500, message=message), 500
