"""``/dags/{dag_id}/dagRuns`` and ``/dagRuns``: list, trigger, get, mark, delete, clear."""

from __future__ import annotations

from typing import Any

from flask import g

from engine.security.roles import Action, Resource
from engine.services.pagination import Page
from engine.services.runs import (
    RUN_ORDER,
    RunFilter,
    delete_run,
    get_run,
    mark_run,
    run_query,
    trigger_dag,
)
from engine.services.taskinstances import clear_task_instances
from engine.state import DagRunState
from engine.timeutil import utcnow
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.common import csv_or_list, page_of
from webui.api.schemas.runs import (
    AllRunsArgs,
    ClearRunSchema,
    DagRunSchema,
    RunListArgs,
    RunPatchSchema,
    TaskInstanceSchema,
    TriggerSchema,
)
from webui.auth import check_dag, check_reached_dags, visible_dag_ids

blp = api_blueprint("dag_runs", "", "Dag runs", Resource.DAG_RUNS)

RUNS = "/dags/<dag_id>/dagRuns"
RUN = f"{RUNS}/<run_id>"


def _filters(args: dict[str, Any], dag_ids: set[str] | None) -> RunFilter:
    return RunFilter(
        dag_ids=dag_ids,
        states=csv_or_list(args["state"]),
        run_types=csv_or_list(args["run_type"]),
        logical_date_gte=args["logical_date_gte"],
        logical_date_lte=args["logical_date_lte"],
        start_date_gte=args["start_date_gte"],
        start_date_lte=args["start_date_lte"],
    )


@blp.listing("/dagRuns", DagRunSchema, AllRunsArgs)
def list_all_runs(args: dict[str, Any]) -> Any:
    """List runs across DAGs (filter by DAG, state, type, date ranges)."""
    wanted = csv_or_list(args["dag_id"])
    visible = visible_dag_ids()
    dag_ids = set(wanted) if wanted is not None else None
    if visible is not None:
        dag_ids = visible if dag_ids is None else dag_ids & visible
    return paged(run_query(_filters(args, dag_ids)), args, RUN_ORDER, "-id")


@blp.listing(RUNS, DagRunSchema, RunListArgs)
def list_runs(args: dict[str, Any], dag_id: str) -> Any:
    """List one DAG's runs (filter by state, type, date ranges)."""
    check_dag(dag_id)
    return paged(run_query(_filters(args, {dag_id})), args, RUN_ORDER, "-id")


@blp.operation("POST", RUNS, Action.CREATE, body=TriggerSchema, status=201, returns=DagRunSchema)
def trigger(body: dict[str, Any], dag_id: str) -> Any:
    """Trigger a run; ``conf`` is checked against the DAG's params."""
    check_dag(dag_id)
    run = trigger_dag(
        session=db.session(),
        dag_id=dag_id,
        conf=body["conf"],
        run_id=body["run_id"],
        logical_date=body["logical_date"],
        run_after=body["run_after"],
        now=utcnow(),
        triggered_by=g.loom_user.username,
    )
    db.commit()
    return run


@blp.operation("GET", RUN, Action.READ, returns=DagRunSchema)
def get_dag_run(dag_id: str, run_id: str) -> Any:
    """Get one run."""
    check_dag(dag_id)
    return get_run(session=db.session(), dag_id=dag_id, run_id=run_id)


@blp.operation("PATCH", RUN, Action.EDIT, body=RunPatchSchema, returns=DagRunSchema)
def patch_run(body: dict[str, Any], dag_id: str, run_id: str) -> Any:
    """Mark a run success or failed."""
    check_dag(dag_id)
    run = mark_run(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        state=DagRunState(body["state"]),
        now=utcnow(),
    )
    db.commit()
    return run


@blp.operation("DELETE", RUN, Action.DELETE, status=204)
def delete(dag_id: str, run_id: str) -> None:
    """Delete a run with its task instances, tries, XComs and dead letters."""
    check_dag(dag_id)
    delete_run(session=db.session(), dag_id=dag_id, run_id=run_id)
    db.commit()


@blp.operation(
    "POST", f"{RUN}/clear", Action.EDIT, body=ClearRunSchema, returns=page_of(TaskInstanceSchema)
)
def clear_run(body: dict[str, Any], dag_id: str, run_id: str) -> Any:
    """Clear task instances of a run (all, or some and optionally their downstream)."""
    check_dag(dag_id)
    cleared = clear_task_instances(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        task_ids=body["task_ids"],
        downstream=body["downstream"],
        now=utcnow(),
    )
    check_reached_dags(ti.dag_id for ti in cleared)
    db.commit()
    return Page.whole(cleared)
