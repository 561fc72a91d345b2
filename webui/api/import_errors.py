"""``/importErrors``: DAG files that failed to import or validate."""

from __future__ import annotations

from typing import Any

from engine.security.roles import Action, Resource
from engine.services.dags import IMPORT_ERROR_ORDER, get_import_error, import_error_query
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import ImportErrorSchema
from webui.auth import visible_dag_ids

blp = api_blueprint("import_errors", "/importErrors", "Import errors", Resource.IMPORT_ERRORS)


@blp.listing("", ImportErrorSchema)
def list_import_errors(args: dict[str, Any]) -> Any:
    """List import errors (a DAG-limited role sees those of its DAGs' files)."""
    stmt = import_error_query(session=db.session(), dag_ids=visible_dag_ids())
    return paged(stmt, args, IMPORT_ERROR_ORDER, "id")


@blp.operation("GET", "/<int:import_error_id>", Action.READ, returns=ImportErrorSchema)
def get_one(import_error_id: int) -> Any:
    """Get one import error (a DAG-limited role: only of its DAGs' files)."""
    return get_import_error(session=db.session(), id=import_error_id, dag_ids=visible_dag_ids())
