"""``/api/v2/dags/{dag_id}/dagRuns``: list (``~``: every DAG), batch list, trigger, get,
patch (state, note), clear, delete. ``dag_run_id`` is Loom's ``run_id``."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify

from engine.errors import InvalidInputError
from engine.models import TaskInstance
from engine.security.roles import Action, Resource
from engine.services.dagversions import listed_versions
from engine.services.notes import checked_note, set_run_note
from engine.services.runs import (
    RUN_ORDER,
    RunFilter,
    delete_run,
    get_run,
    mark_run,
    run_query,
    trigger_dag,
)
from engine.services.taskchanges import clear_task_instances
from engine.services.taskinstances import task_ids_in
from engine.state import DagRunState, TaskInstanceState
from engine.timeutil import utcnow
from webui import db
from webui.api.v2.common import collection, filters_in, page, v2_blueprint
from webui.api.v2.schemas_runs import (
    DagRunSchema,
    RunBatchSchema,
    RunClearSchema,
    RunDateFilters,
    RunFilters,
    RunListArgs,
    RunPatchArgs,
    RunPatchSchema,
    TaskInstanceSchema,
    TriggerArgs,
    TriggerSchema,
)
from webui.auth import check_dag, check_reached_dags, requires, visible_dag_ids

blp = v2_blueprint("dag_runs", "/dags/<dag_id>/dagRuns", "DagRun", Resource.DAG_RUNS)

ALL = "~"
ORDER_ALIASES = {"dag_run_id": "run_id"}
RUN_COLLECTION = collection("dag_runs", DagRunSchema)
TIS_SCHEMA = collection("task_instances", TaskInstanceSchema)()
FAILED = (TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED)


def dag_ids_for(dag_id: str, wanted: list[str] | None = None) -> set[str] | None:
    """The DAGs a path's ``dag_id`` (``~``: all, or ``wanted``) lets this caller see."""
    if dag_id != ALL:
        check_dag(dag_id)
        return {dag_id}
    visible = visible_dag_ids()
    chosen = set(wanted) if wanted else None
    if visible is None:
        return chosen
    return visible if chosen is None else chosen & visible


@blp.operation("GET", "", Action.READ, query=RunListArgs, returns=RUN_COLLECTION)
def list_runs(args: dict[str, Any], dag_id: str) -> Any:
    """List runs of a DAG, or of every DAG with ``~`` (filter by state, type, dates)."""
    filters = RunFilter(dag_ids=dag_ids_for(dag_id), **filters_in(args, RunFilters))
    return _with_versions(
        page("dag_runs", run_query(filters), args, RUN_ORDER, "id", ORDER_ALIASES)
    )


def _with_versions(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` once the versions of its runs are in the session (one query for the
    page, so that each run's ``dag_versions`` finds its own without one). The session
    holds objects weakly: ``g`` keeps them until the response is written."""
    ids = {run.dag_version_id for run in result["dag_runs"]} - {None}
    if ids:
        g.loom_dag_versions = listed_versions(session=db.session(), ids=ids)
    return result


@blp.operation("POST", "/list", Action.READ, body=RunBatchSchema, returns=RUN_COLLECTION)
def list_runs_batch(body: dict[str, Any], dag_id: str) -> Any:
    """List runs with the filters in the body (``dag_id`` must be ``~``)."""
    if dag_id != ALL:
        raise InvalidInputError("dag_id: the batch list takes '~' in the path, DAGs in dag_ids")
    filters = RunFilter(
        dag_ids=dag_ids_for(ALL, body["dag_ids"]),
        states=body["states"],
        **filters_in(body, RunDateFilters),
    )
    args = {
        "limit": body["page_limit"],
        "offset": body["page_offset"],
        "order_by": [body["order_by"]] if body["order_by"] else None,
    }
    return _with_versions(
        page("dag_runs", run_query(filters), args, RUN_ORDER, "id", ORDER_ALIASES)
    )


@blp.operation(
    "POST", "", Action.CREATE, query=TriggerArgs, body=TriggerSchema, returns=DagRunSchema
)
def trigger(args: dict[str, Any], body: dict[str, Any], dag_id: str) -> Any:
    """Trigger a run; ``conf`` is checked against the DAG's params (a null
    ``logical_date``: now). A DAG whose file does not import now is refused (409, naming
    the import error) unless ``force`` (query parameter or body field)."""
    check_dag(dag_id)
    note = checked_note(body["note"])
    run = trigger_dag(
        session=db.session(),
        dag_id=dag_id,
        conf=body["conf"],
        run_id=body["dag_run_id"],
        logical_date=body["logical_date"],
        run_after=body["run_after"],
        now=utcnow(),
        triggered_by=g.loom_user.username,
        refuse_broken=not (args["force"] or body["force"]),
    )
    run.note = note
    db.commit()
    return run


@blp.operation("GET", "/<dag_run_id>", Action.READ, returns=DagRunSchema)
def get_dag_run(dag_id: str, dag_run_id: str) -> Any:
    """Get one run."""
    check_dag(dag_id)
    return get_run(session=db.session(), dag_id=dag_id, run_id=dag_run_id)


@blp.operation(
    "PATCH",
    "/<dag_run_id>",
    Action.EDIT,
    query=RunPatchArgs,
    body=RunPatchSchema,
    returns=DagRunSchema,
)
def patch_run(args: dict[str, Any], body: dict[str, Any], dag_id: str, dag_run_id: str) -> Any:
    """Mark a run success or failed, or queue it again (its tasks cleared); set its note.
    ``update_mask`` names what changes; without it, what the body names."""
    check_dag(dag_id)
    session = db.session()
    changed = patched(args["update_mask"], body)
    if "state" in changed and body.get("state") is not None:  # null: unchanged, as in Airflow
        _set_state(dag_id, dag_run_id, body["state"])
    if "note" in changed:
        set_run_note(session=session, dag_id=dag_id, run_id=dag_run_id, note=body.get("note"))
    if changed:
        db.commit()
    return get_run(session=session, dag_id=dag_id, run_id=dag_run_id)


def patched(update_mask: list[str] | None, body: dict[str, Any]) -> set[str]:
    """The fields a PATCH changes: those ``update_mask`` names, else those in the body."""
    return set(update_mask) if update_mask is not None else set(body)


def _set_state(dag_id: str, run_id: str, state: str) -> None:
    if state == DagRunState.QUEUED.value:
        _clear(dag_id, run_id, only_failed=False)
        return
    mark_run(
        session=db.session(), dag_id=dag_id, run_id=run_id, state=DagRunState(state), now=utcnow()
    )


@blp.operation("DELETE", "/<dag_run_id>", Action.DELETE, status=204)
def delete(dag_id: str, dag_run_id: str) -> None:
    """Delete a run with its task instances, tries, XComs and dead letters."""
    check_dag(dag_id)
    delete_run(session=db.session(), dag_id=dag_id, run_id=dag_run_id)
    db.commit()


CLEARED = {
    "oneOf": [
        {"$ref": "#/components/schemas/TaskInstanceCollection"},
        {"$ref": "#/components/schemas/DagRun"},
    ]
}
"""A dry run lists the task instances it would clear; a clear answers the run."""


@blp.route("/<dag_run_id>/clear", methods=["POST"])
@requires(Action.EDIT, Resource.DAG_RUNS)
@blp.arguments(RunClearSchema)
@blp.response(200, CLEARED)
def clear_run(body: dict[str, Any], dag_id: str, dag_run_id: str) -> Response:
    """Clear a run's task instances (``only_failed``: the failed ones) so they run again;
    ``dry_run`` (the default, as in Airflow) only lists them."""
    check_dag(dag_id)
    cleared = _clear(dag_id, dag_run_id, only_failed=body["only_failed"])
    if body["dry_run"]:
        db.session().rollback()
        page = {"task_instances": cleared, "total_entries": len(cleared)}
        return jsonify(TIS_SCHEMA.dump(page))
    check_reached_dags(ti.dag_id for ti in cleared)
    db.commit()
    run = get_run(session=db.session(), dag_id=dag_id, run_id=dag_run_id)
    return jsonify(DagRunSchema().dump(run))


def _clear(dag_id: str, run_id: str, *, only_failed: bool) -> list[TaskInstance]:
    session = db.session()
    task_ids = None
    if only_failed:
        run = get_run(session=session, dag_id=dag_id, run_id=run_id)
        task_ids = task_ids_in(session=session, run=run, states=FAILED)
        if not task_ids:
            return []
    return clear_task_instances(
        session=session, dag_id=dag_id, run_id=run_id, task_ids=task_ids, now=utcnow()
    )
