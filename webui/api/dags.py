"""``/dags``: list, get, pause, source, graph, versions, delete (metadata only)."""

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
from engine.services.dagversions import describe_version, list_versions, version_source
from webui import db
from webui.api.blueprint import Blueprint
from webui.api.paging import paged
from webui.api.schemas.common import MAX_LIMIT, PageArgs, csv_or_list, page_of
from webui.api.schemas.dags import (
    DagGraphSchema,
    DagListArgs,
    DagPatchSchema,
    DagSchema,
    DagSourceArgs,
    DagSourceSchema,
    DagVersionSchema,
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
@blp.arguments(DagSourceArgs, location="query")
@blp.response(200, DagSourceSchema)
def get_source(args: dict[str, Any], dag_id: str) -> Any:
    """The DAG file's source text, now or as parsed into ``version_number``."""
    check_dag(dag_id)
    number = args["version_number"]
    if number is None:
        source = dag_source(session=db.session(), dag_id=dag_id)
    else:
        source = version_source(session=db.session(), dag_id=dag_id, version_number=number)
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


@blp.route("/<dag_id>/dagVersions", methods=["GET"])
@requires(Action.READ, Resource.DAGS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(DagVersionSchema))
def list_dag_versions(args: dict[str, Any], dag_id: str) -> Any:
    """The DAG's versions, newest first: one per change of its serialized graph."""
    check_dag(dag_id)
    limit = min(int(args["limit"]), MAX_LIMIT)
    return list_versions(
        session=db.session(), dag_id=dag_id, limit=limit, offset=int(args["offset"])
    )


@blp.route("/<dag_id>/dagVersions/<int:version_number>", methods=["GET"])
@requires(Action.READ, Resource.DAGS)
@blp.response(200, DagVersionSchema)
def get_dag_version(dag_id: str, version_number: int) -> Any:
    """One version of the DAG."""
    check_dag(dag_id)
    return describe_version(session=db.session(), dag_id=dag_id, version_number=version_number)
