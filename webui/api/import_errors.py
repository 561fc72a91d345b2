"""``/importErrors``: DAG files that failed to import or validate."""

from __future__ import annotations

from typing import Any

from engine.security.roles import Action, Resource
from engine.services.dags import IMPORT_ERROR_ORDER, get_import_error, import_error_query
from webui import db
from webui.api.blueprint import Blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import ImportErrorSchema
from webui.api.schemas.common import PageArgs, page_of
from webui.auth import requires, visible_dag_ids

blp = Blueprint(
    "import_errors", __name__, url_prefix="/api/v1/importErrors", description="Import errors"
)


@blp.route("", methods=["GET"])
@requires(Action.READ, Resource.IMPORT_ERRORS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ImportErrorSchema))
def list_import_errors(args: dict[str, Any]) -> Any:
    """List import errors (a DAG-limited role sees those of its DAGs' files)."""
    stmt = import_error_query(session=db.session(), dag_ids=visible_dag_ids())
    return paged(stmt, args, IMPORT_ERROR_ORDER, "id")


@blp.route("/<int:import_error_id>", methods=["GET"])
@requires(Action.READ, Resource.IMPORT_ERRORS)
@blp.response(200, ImportErrorSchema)
def get_one(import_error_id: int) -> Any:
    """Get one import error (a DAG-limited role: only of its DAGs' files)."""
    return get_import_error(session=db.session(), id=import_error_id, dag_ids=visible_dag_ids())
