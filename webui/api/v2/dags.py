"""``/api/v2/dags``: list, patch many (pause), get, details, patch (pause), delete, tasks;
``/dagSources``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.authoring.serialization import SerializedDAG, SerializedTask
from engine.errors import NotFoundError
from engine.models import Dag
from engine.security.roles import Action, Resource
from engine.services.brokenfiles import broken_dags
from engine.services.dagdetails import DagDetails, details_by_id
from engine.services.daglist import DAG_ORDER, DagFilter, dag_ids_tagged_with_all, dag_query
from engine.services.dags import (
    dag_source,
    delete_dag,
    load_serialized_dag,
    load_serialized_dags,
    require_dag,
    set_dag_paused,
)
from engine.services.dagversions import version_source
from webui import db
from webui.api.v2.common import collection, page, pattern_filter, v2_blueprint
from webui.api.v2.schemas_dags import (
    DagDetailsSchema,
    DagListArgs,
    DagPatchArgs,
    DagPatchSchema,
    DagSchema,
    DagSourceArgs,
    DagSourceSchema,
    DagsPatchArgs,
    TaskCollectionSchema,
    TaskSchema,
)
from webui.auth import check_dag, visible_dag_ids

blp = v2_blueprint("dags", "/dags", "DAG", Resource.DAGS)
sources = v2_blueprint("dag_sources", "/dagSources", "DagSource", Resource.DAGS)

ORDER_ALIASES = {"last_parsed_time": "last_parsed_at", "next_dagrun": "next_dagrun_create_after"}


DAG_COLLECTION = collection("dags", DagSchema)


@blp.operation("GET", "", Action.READ, query=DagListArgs, returns=DAG_COLLECTION)
def list_dags(args: dict[str, Any]) -> Any:
    """List DAGs (filter by tags, paused, stale, dag_id pattern)."""
    stale_hidden = args["exclude_stale"] if args["only_active"] is None else args["only_active"]
    filters = DagFilter(
        tags=args["tags"] if args["tags_match_mode"] == "any" else None,
        paused=args["paused"],
        active=True if stale_hidden else None,
        search=pattern_filter(args["dag_id_pattern"] or args["dag_display_name_pattern"]),
        dag_ids=_all_tags(args["tags"]) if args["tags_match_mode"] == "all" else visible_dag_ids(),
    )
    result = page("dags", dag_query(filters, session=db.session()), args, DAG_ORDER, "dag_id")
    result["dags"] = _payloads(result["dags"])
    return result


def _all_tags(tags: list[str] | None) -> set[str] | None:
    """Visible DAGs carrying every one of ``tags`` (``tags_match_mode=all``)."""
    visible = visible_dag_ids()
    if not tags:
        return visible
    wanted = dag_ids_tagged_with_all(session=db.session(), tags=tags)
    return wanted if visible is None else wanted & visible


def _payloads(dags: list[Dag], *, full: bool = False) -> list[dict[str, Any]]:
    graphs = load_serialized_dags(session=db.session(), dag_ids=[dag.dag_id for dag in dags])
    broken = broken_dags(session=db.session(), dag_ids=[dag.dag_id for dag in dags])
    return [
        dag_v2(dag, _details_of(dag.dag_id, graphs), graphs.get(dag.dag_id), full=full)
        | {"has_import_errors": dag.dag_id in broken}
        for dag in dags
    ]


def _details_of(dag_id: str, graphs: dict[str, SerializedDAG]) -> DagDetails:
    """What :func:`engine.services.dagdetails.dag_details` reads, from graphs already
    loaded (one query for the page, not two)."""
    graph = graphs.get(dag_id)
    return DagDetails.of(graph) if graph is not None else DagDetails(dag_id)


def dag_v2(
    dag: Dag, details: DagDetails, graph: SerializedDAG | None, *, full: bool = False
) -> dict[str, Any]:
    """``dag`` in Airflow 3's shape (``DAGResponse``; ``full``: ``DAGDetailsResponse``)."""
    name = details.dag_display_name
    payload: dict[str, Any] = {
        "dag_id": dag.dag_id,
        "dag_display_name": name,
        "description": dag.description,
        "fileloc": dag.fileloc,
        "relative_fileloc": None,
        "file_token": dag.dag_id,
        "is_paused": dag.is_paused,
        "is_stale": not dag.is_active,
        "has_import_errors": False,
        "has_task_concurrency_limits": False,
        "is_backfillable": dag.schedule is not None,
        "last_parsed_time": dag.last_parsed_at,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "max_consecutive_failed_dag_runs": details.max_consecutive_failed_dag_runs or 0,
        "next_dagrun_logical_date": dag.next_dagrun_create_after,
        "next_dagrun_run_after": dag.next_dagrun_create_after,
        "owners": [owner for owner, _ in details.owners(dag.owner)],
        "tags": [
            {"name": tag, "dag_id": dag.dag_id, "dag_display_name": name}
            for tag in sorted(dag.tags or ())
        ],
        "timetable_summary": dag.schedule,
        "timetable_description": dag.schedule,
        "timetable_partitioned": False,
        "timetable_periodic": dag.schedule is not None,
    }
    if full:
        payload.update(_details(dag, details, graph))
    return payload


def _details(dag: Dag, details: DagDetails, graph: SerializedDAG | None) -> dict[str, Any]:
    return {
        "catchup": bool(graph and graph.catchup),
        "concurrency": dag.max_active_tasks,
        "render_template_as_native_obj": False,
        "doc_md": details.doc_md,
        "owner_links": details.owner_links,
        "params": {name: p.serialize() for name, p in graph.params.items()} if graph else {},
        "start_date": graph.start_date if graph else None,
        "end_date": graph.end_date if graph else None,
        "timezone": graph.timezone if graph else None,
        "dag_run_timeout": str(graph.dagrun_timeout) if graph and graph.dagrun_timeout else None,
        "is_paused_upon_creation": graph.is_paused_upon_creation if graph else None,
    }


@blp.operation("GET", "/<dag_id>", Action.READ, returns=DagSchema)
def get_dag(dag_id: str) -> Any:
    """Get one DAG."""
    return _payloads([check_dag(dag_id)])[0]


@blp.operation("GET", "/<dag_id>/details", Action.READ, returns=DagDetailsSchema)
def get_dag_details(dag_id: str) -> Any:
    """Get one DAG with its schedule details, params and docs."""
    return _payloads([check_dag(dag_id)], full=True)[0]


@blp.operation(
    "PATCH", "/<dag_id>", Action.EDIT, query=DagPatchArgs, body=DagPatchSchema, returns=DagSchema
)
def patch_dag(args: dict[str, Any], body: dict[str, Any], dag_id: str) -> Any:
    """Pause or unpause a DAG (``is_paused``, the one field ``update_mask`` may name)."""
    check_dag(dag_id)
    dag = set_dag_paused(session=db.session(), dag_id=dag_id, is_paused=body["is_paused"])
    db.commit()
    return _payloads([dag])[0]


@blp.operation(
    "PATCH", "", Action.EDIT, query=DagsPatchArgs, body=DagPatchSchema, returns=DAG_COLLECTION
)
def patch_dags(args: dict[str, Any], body: dict[str, Any]) -> Any:
    """Pause or unpause every DAG of a page matching the filters; without
    ``dag_id_pattern`` or ``dag_id_prefix_pattern`` none matches (``~``: every DAG)."""
    pattern, prefix = args["dag_id_pattern"], args["dag_id_prefix_pattern"]
    if pattern is None and prefix is None:
        return {"dags": [], "total_entries": 0}
    filters = DagFilter(
        tags=args["tags"] if args["tags_match_mode"] == "any" else None,
        paused=args["paused"],
        active=True if args["exclude_stale"] else None,
        dag_ids=_all_tags(args["tags"]) if args["tags_match_mode"] == "all" else visible_dag_ids(),
        dag_id_contains=None if pattern is None else pattern.replace("%", "").replace("~", ""),
        dag_id_prefix=prefix,
        owners=args["owners"],
    )
    result = page("dags", dag_query(filters, session=db.session()), args, DAG_ORDER, "dag_id")
    for dag in result["dags"]:
        set_dag_paused(session=db.session(), dag_id=dag.dag_id, is_paused=body["is_paused"])
    db.commit()
    result["dags"] = _payloads(result["dags"])
    return result


@blp.operation("DELETE", "/<dag_id>", Action.DELETE, status=204)
def delete(dag_id: str) -> None:
    """Delete a DAG's metadata and history (its file stays; the next parse brings it back)."""
    check_dag(dag_id)
    delete_dag(session=db.session(), dag_id=dag_id)
    db.commit()


@blp.operation(
    "GET",
    "/<dag_id>/tasks",
    Action.READ,
    resource=Resource.TASK_INSTANCES,
    returns=TaskCollectionSchema,
)
def list_tasks(dag_id: str) -> Any:
    """The DAG's tasks with their settings, in DAG order (upstream first, ties in the
    file's order; ``order_by`` is not supported)."""
    check_dag(dag_id)
    require_dag(session=db.session(), dag_id=dag_id)
    dag = load_serialized_dag(session=db.session(), dag_id=dag_id)
    tasks = [task_v2(dag.tasks[task_id]) for task_id in dag.order]
    return {"tasks": tasks, "total_entries": len(tasks)}


@blp.operation(
    "GET",
    "/<dag_id>/tasks/<task_id>",
    Action.READ,
    resource=Resource.TASK_INSTANCES,
    returns=TaskSchema,
)
def get_task(dag_id: str, task_id: str) -> Any:
    """One task of the DAG with its settings."""
    check_dag(dag_id)
    require_dag(session=db.session(), dag_id=dag_id)
    task = load_serialized_dag(session=db.session(), dag_id=dag_id).tasks.get(task_id)
    if task is None:
        raise NotFoundError(f"DAG {dag_id!r} has no task {task_id!r}")
    return task_v2(task)


def _delta(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, timedelta):
        return None
    return {
        "__type": "TimeDelta",
        "days": value.days,
        "seconds": value.seconds,
        "microseconds": value.microseconds,
    }


def task_v2(task: SerializedTask) -> dict[str, Any]:
    """``task`` in Airflow 3's shape (``TaskResponse``)."""
    settings = task.settings
    rule = settings.get("trigger_rule")
    return {
        "task_id": task.task_id,
        "task_display_name": settings.get("task_display_name") or task.task_id,
        "operator_name": task.operator,
        "owner": settings.get("owner"),
        "depends_on_past": bool(settings.get("depends_on_past")),
        "wait_for_downstream": bool(settings.get("wait_for_downstream")),
        "retry_exponential_backoff": float(bool(settings.get("retry_exponential_backoff"))),
        "extra_links": [],
        "downstream_task_ids": sorted(task.downstream_task_ids),
        "is_mapped": task.mapped is not None,
        "pool": settings.get("pool"),
        "pool_slots": settings.get("pool_slots"),
        "priority_weight": settings.get("priority_weight"),
        "queue": settings.get("queue"),
        "retries": settings.get("retries"),
        "retry_delay": _delta(settings.get("retry_delay")),
        "execution_timeout": _delta(settings.get("execution_timeout")),
        "template_fields": list(task.template_fields),
        "trigger_rule": getattr(rule, "value", rule),
        "weight_rule": str(settings.get("weight_rule")),
        "doc_md": settings.get("doc_md"),
    }


@sources.operation("GET", "/<dag_id>", Action.READ, query=DagSourceArgs, returns=DagSourceSchema)
def get_dag_source(args: dict[str, Any], dag_id: str) -> Any:
    """The DAG file's source text (``version_number``: as parsed into that version)."""
    check_dag(dag_id)
    session = db.session()
    number = args["version_number"]
    if number is None:
        source = dag_source(session=session, dag_id=dag_id)
    else:
        source = version_source(session=session, dag_id=dag_id, version_number=number)
    name = details_by_id(session, [require_dag(session=session, dag_id=dag_id)])
    return {
        "dag_id": dag_id,
        "dag_display_name": name[dag_id].dag_display_name,
        "content": source.content,
        "version_number": number,
    }
