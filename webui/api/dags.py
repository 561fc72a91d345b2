"""``/dags``: list, get, pause, source, graph, delete (metadata only)."""

from __future__ import annotations

from typing import Any

from engine.security.roles import Action, Resource
from engine.services.dags import (
    DAG_ORDER,
    DagFilter,
    dag_graph,
    dag_query,
    dag_source,
    delete_dag,
    set_dag_paused,
)
from webui import db
from webui.api.blueprint import Blueprint
from webui.api.paging import paged
from webui.api.schemas.common import csv_or_list, page_of
from webui.api.schemas.dags import (
    DagGraphSchema,
    DagListArgs,
    DagPatchSchema,
    DagSchema,
    DagSourceSchema,
)
from webui.auth import check_dag, requires, visible_dag_ids

blp = Blueprint("dags", __name__, url_prefix="/api/v1/dags", description="DAGs")


@blp.route("", methods=["GET"])
@requires(Action.READ, Resource.DAGS)
@blp.arguments(DagListArgs, location="query")
@blp.response(200, page_of(DagSchema))
def list_dags(args: dict[str, Any]) -> Any:
    """List DAGs (filter by tags, paused, text; order by dag_id, last_parsed_at)."""
    filters = DagFilter(
        tags=csv_or_list(args["tags"]),
        paused=args["paused"],
        active=True if args["only_active"] else None,
        search=args["search"],
        dag_ids=visible_dag_ids(),
    )
    stmt = dag_query(filters, session=db.session())
    return paged(stmt, args, DAG_ORDER, "dag_id")


@blp.route("/<dag_id>", methods=["GET"])
@requires(Action.READ, Resource.DAGS)
@blp.response(200, DagSchema)
def get_dag(dag_id: str) -> Any:
    """Get one DAG."""
    return check_dag(dag_id)


@blp.route("/<dag_id>", methods=["PATCH"])
@requires(Action.EDIT, Resource.DAGS)
@blp.arguments(DagPatchSchema)
@blp.response(200, DagSchema)
def patch_dag(body: dict[str, Any], dag_id: str) -> Any:
    """Pause or unpause a DAG."""
    check_dag(dag_id)
    dag = set_dag_paused(session=db.session(), dag_id=dag_id, is_paused=body["is_paused"])
    db.commit()
    return dag


@blp.route("/<dag_id>", methods=["DELETE"])
@requires(Action.DELETE, Resource.DAGS)
@blp.response(204)
def delete(dag_id: str) -> None:
    """Delete a DAG's metadata and history (its file stays; the next parse brings it back)."""
    check_dag(dag_id)
    delete_dag(session=db.session(), dag_id=dag_id)
    db.commit()


@blp.route("/<dag_id>/source", methods=["GET"])
@requires(Action.READ, Resource.DAGS)
@blp.response(200, DagSourceSchema)
def get_source(dag_id: str) -> Any:
    """The DAG file's source text."""
    check_dag(dag_id)
    source = dag_source(session=db.session(), dag_id=dag_id)
    return {
        "dag_id": dag_id,
        "fileloc": source.fileloc,
        "content": source.content,
        "truncated": source.truncated,
    }


@blp.route("/<dag_id>/graph", methods=["GET"])
@requires(Action.READ, Resource.DAGS)
@blp.response(200, DagGraphSchema)
def get_graph(dag_id: str) -> Any:
    """The DAG's tasks with their settings, and its edges (from the serialized DAG)."""
    check_dag(dag_id)
    return dag_graph(session=db.session(), dag_id=dag_id)
