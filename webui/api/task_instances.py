"""``.../dagRuns/{run_id}/taskInstances``: list, get, clear, mark, logs per try, XCom."""

from __future__ import annotations

from typing import Any

from engine.security.roles import Action, Resource
from engine.services.pagination import Page
from engine.services.runs import get_run
from engine.services.taskinstances import (
    TASK_INSTANCE_ORDER,
    clear_task_instance,
    get_task_instance,
    log_chunk,
    mark_task_instance,
    task_instance_query,
    xcoms_of,
)
from engine.state import TaskInstanceState
from engine.timeutil import utcnow
from webui import db
from webui.api.blueprint import Blueprint
from webui.api.paging import paged
from webui.api.schemas.common import csv_or_list, page_of
from webui.api.schemas.runs import (
    LogArgs,
    LogSchema,
    TaskClearSchema,
    TaskInstanceListArgs,
    TaskInstanceSchema,
    TaskPatchSchema,
    XComListSchema,
)
from webui.auth import check_dag, requires

blp = Blueprint(
    "task_instances",
    __name__,
    url_prefix="/api/v1/dags/<dag_id>/dagRuns/<run_id>/taskInstances",
    description="Task instances",
)


@blp.route("", methods=["GET"])
@requires(Action.READ, Resource.TASK_INSTANCES)
@blp.arguments(TaskInstanceListArgs, location="query")
@blp.response(200, page_of(TaskInstanceSchema))
def list_task_instances(args: dict[str, Any], dag_id: str, run_id: str) -> Any:
    """List a run's task instances (filter by state)."""
    check_dag(dag_id)
    run = get_run(session=db.session(), dag_id=dag_id, run_id=run_id)
    stmt = task_instance_query(run, states=csv_or_list(args["state"]))
    return paged(stmt, args, TASK_INSTANCE_ORDER, "task_id")


@blp.route("/<task_id>", methods=["GET"])
@requires(Action.READ, Resource.TASK_INSTANCES)
@blp.response(200, TaskInstanceSchema)
def get_ti(dag_id: str, run_id: str, task_id: str) -> Any:
    """Get one task instance."""
    check_dag(dag_id)
    return get_task_instance(session=db.session(), dag_id=dag_id, run_id=run_id, task_id=task_id)


@blp.route("/<task_id>", methods=["PATCH"])
@requires(Action.EDIT, Resource.TASK_INSTANCES)
@blp.arguments(TaskPatchSchema)
@blp.response(200, TaskInstanceSchema)
def patch_ti(body: dict[str, Any], dag_id: str, run_id: str, task_id: str) -> Any:
    """Mark a task instance success, failed or skipped."""
    check_dag(dag_id)
    ti = mark_task_instance(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        state=TaskInstanceState(body["state"]),
        now=utcnow(),
    )
    db.commit()
    return ti


@blp.route("/<task_id>/clear", methods=["POST"])
@requires(Action.EDIT, Resource.TASK_INSTANCES)
@blp.arguments(TaskClearSchema)
@blp.response(200, page_of(TaskInstanceSchema))
def clear_ti(body: dict[str, Any], dag_id: str, run_id: str, task_id: str) -> Any:
    """Clear a task instance (and, optionally, everything downstream of it) to run again."""
    check_dag(dag_id)
    cleared = clear_task_instance(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        downstream=body["downstream"],
        now=utcnow(),
    )
    db.commit()
    return Page.whole(cleared)


@blp.route("/<task_id>/logs/<int:try_number>", methods=["GET"])
@requires(Action.READ, Resource.TASK_LOGS)
@blp.arguments(LogArgs, location="query")
@blp.response(200, LogSchema)
def get_log(args: dict[str, Any], dag_id: str, run_id: str, task_id: str, try_number: int) -> Any:
    """One try's log from ``offset`` on; poll with the returned ``next_offset`` to tail it."""
    check_dag(dag_id)
    ti = get_task_instance(session=db.session(), dag_id=dag_id, run_id=run_id, task_id=task_id)
    return log_chunk(session=db.session(), ti=ti, try_number=try_number, offset=args["offset"])


@blp.route("/<task_id>/xcom", methods=["GET"])
@requires(Action.READ, Resource.XCOM)
@blp.response(200, XComListSchema)
def get_xcom(dag_id: str, run_id: str, task_id: str) -> Any:
    """The XComs a task instance published (its return value is key ``return_value``)."""
    check_dag(dag_id)
    ti = get_task_instance(session=db.session(), dag_id=dag_id, run_id=run_id, task_id=task_id)
    return {"items": xcoms_of(session=db.session(), ti=ti)}
