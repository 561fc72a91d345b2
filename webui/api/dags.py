"""``/dags``: list, get, pause, source, graph, versions, delete (metadata only)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.models import Dag
from engine.security.roles import Action, Resource
from engine.services.dagdetails import dag_payload, details_by_id
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
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.common import MAX_LIMIT, csv_or_list
from webui.api.schemas.dags import (
    DagDetailsSchema,
    DagGraphSchema,
    DagListArgs,
    DagPatchSchema,
    DagSchema,
    DagSourceArgs,
    DagSourceSchema,
    DagVersionSchema,
)
from webui.auth import check_dag, visible_dag_ids

blp = api_blueprint("dags", "/dags", "DAGs", Resource.DAGS)


@blp.listing("", DagSchema, DagListArgs)
def list_dags(args: dict[str, Any]) -> Any:
    """List DAGs (filter by tags, paused, text; order by dag_id, last_parsed_at)."""
    filters = DagFilter(
        tags=csv_or_list(args["tags"]),
        paused=args["paused"],
        active=True if args["only_active"] else None,
        search=args["search"],
        dag_ids=visible_dag_ids(),
    )
    session = db.session()
    page = paged(dag_query(filters, session=session), args, DAG_ORDER, "dag_id")
    details = details_by_id(session, page.items)
    items = [dag_payload(dag, details[dag.dag_id]) for dag in page.items]
    return replace(page, items=items)


@blp.operation("GET", "/<dag_id>", Action.READ, returns=DagDetailsSchema)
def get_dag(dag_id: str) -> Any:
    """Get one DAG, with its display name, owners' links, doc_md and run policy."""
    return _full(check_dag(dag_id))


@blp.operation("PATCH", "/<dag_id>", Action.EDIT, body=DagPatchSchema, returns=DagDetailsSchema)
def patch_dag(body: dict[str, Any], dag_id: str) -> Any:
    """Pause or unpause a DAG."""
    check_dag(dag_id)
    dag = set_dag_paused(session=db.session(), dag_id=dag_id, is_paused=body["is_paused"])
    db.commit()
    return _full(dag)


def _full(dag: Dag) -> dict[str, Any]:
    details = details_by_id(db.session(), [dag])[dag.dag_id]
    return dag_payload(dag, details, full=True)


@blp.operation("DELETE", "/<dag_id>", Action.DELETE, status=204)
def delete(dag_id: str) -> None:
    """Delete a DAG's metadata and history (its file stays; the next parse brings it back)."""
    check_dag(dag_id)
    delete_dag(session=db.session(), dag_id=dag_id)
    db.commit()


@blp.operation("GET", "/<dag_id>/source", Action.READ, query=DagSourceArgs, returns=DagSourceSchema)
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


@blp.operation("GET", "/<dag_id>/graph", Action.READ, returns=DagGraphSchema)
def get_graph(dag_id: str) -> Any:
    """The DAG's tasks with their settings, and its edges (from the serialized DAG)."""
    check_dag(dag_id)
    return dag_graph(session=db.session(), dag_id=dag_id)


@blp.listing("/<dag_id>/dagVersions", DagVersionSchema)
def list_dag_versions(args: dict[str, Any], dag_id: str) -> Any:
    """The DAG's versions, newest first: one per change of its serialized graph."""
    check_dag(dag_id)
    limit = min(int(args["limit"]), MAX_LIMIT)
    return list_versions(
        session=db.session(), dag_id=dag_id, limit=limit, offset=int(args["offset"])
    )


@blp.operation(
    "GET", "/<dag_id>/dagVersions/<int:version_number>", Action.READ, returns=DagVersionSchema
)
def get_dag_version(dag_id: str, version_number: int) -> Any:
    """One version of the DAG."""
    check_dag(dag_id)
    return describe_version(session=db.session(), dag_id=dag_id, version_number=version_number)
