"""``.../dagRuns/{run_id}/taskInstances``: list, get, clear, mark, logs per try, XCom.

A mapped task has one instance per ``map_index`` (Airflow 3's paths):
``/{task_id}/listMapped`` lists them, ``/{task_id}/{map_index}`` is one of them, and the
log and XCom routes take ``?map_index=`` (default -1, an unmapped task's instance).
"""

from __future__ import annotations

from typing import Any

from engine.models import TaskInstance
from engine.security.roles import Action, Resource
from engine.services.pagination import Page
from engine.services.runs import get_run
from engine.services.taskinstances import (
    TASK_INSTANCE_ORDER,
    clear_task_instance,
    get_task_instance,
    log_chunk,
    mapped_instance_query,
    mark_task_instance,
    task_instance_query,
    xcoms_of,
)
from engine.state import TaskInstanceState
from engine.timeutil import utcnow
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.common import PageArgs, csv_or_list, page_of
from webui.api.schemas.runs import (
    LogArgs,
    LogSchema,
    MapIndexArgs,
    TaskClearSchema,
    TaskInstanceListArgs,
    TaskInstanceSchema,
    TaskPatchSchema,
    XComListSchema,
)
from webui.auth import check_dag

blp = api_blueprint(
    "task_instances",
    "/dags/<dag_id>/dagRuns/<run_id>/taskInstances",
    "Task instances",
    Resource.TASK_INSTANCES,
)


@blp.listing("", TaskInstanceSchema, TaskInstanceListArgs)
def list_task_instances(args: dict[str, Any], dag_id: str, run_id: str) -> Any:
    """List a run's task instances (filter by state)."""
    check_dag(dag_id)
    run = get_run(session=db.session(), dag_id=dag_id, run_id=run_id)
    stmt = task_instance_query(run, states=csv_or_list(args["state"]))
    return paged(stmt, args, TASK_INSTANCE_ORDER, "task_id")


@blp.operation("GET", "/<task_id>", Action.READ, returns=TaskInstanceSchema)
def get_ti(dag_id: str, run_id: str, task_id: str) -> Any:
    """Get one task instance (of a mapped task: ``/{task_id}/{map_index}``)."""
    return _get(dag_id, run_id, task_id, -1)


@blp.operation(
    "GET", "/<task_id>/<int(signed=True):map_index>", Action.READ, returns=TaskInstanceSchema
)
def get_mapped_ti(dag_id: str, run_id: str, task_id: str, map_index: int) -> Any:
    """Get one instance of a mapped task."""
    return _get(dag_id, run_id, task_id, map_index)


def _get(dag_id: str, run_id: str, task_id: str, map_index: int) -> TaskInstance:
    """The instance the path names, once the caller may see its DAG."""
    check_dag(dag_id)
    return get_task_instance(
        session=db.session(), dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index
    )


@blp.listing("/<task_id>/listMapped", TaskInstanceSchema, PageArgs)
def list_mapped(args: dict[str, Any], dag_id: str, run_id: str, task_id: str) -> Any:
    """List the instances of a mapped task by map index (an unmapped task: its one, -1)."""
    check_dag(dag_id)
    stmt = mapped_instance_query(
        session=db.session(), dag_id=dag_id, run_id=run_id, task_id=task_id
    )
    return paged(stmt, args, TASK_INSTANCE_ORDER, "map_index")


@blp.operation("PATCH", "/<task_id>", Action.EDIT, body=TaskPatchSchema, returns=TaskInstanceSchema)
def patch_ti(body: dict[str, Any], dag_id: str, run_id: str, task_id: str) -> Any:
    """Mark a task instance success, failed or skipped."""
    return _mark(body, dag_id, run_id, task_id, -1)


@blp.operation(
    "PATCH",
    "/<task_id>/<int(signed=True):map_index>",
    Action.EDIT,
    body=TaskPatchSchema,
    returns=TaskInstanceSchema,
)
def patch_mapped_ti(
    body: dict[str, Any], dag_id: str, run_id: str, task_id: str, map_index: int
) -> Any:
    """Mark one instance of a mapped task success, failed or skipped."""
    return _mark(body, dag_id, run_id, task_id, map_index)


def _mark(body: dict[str, Any], dag_id: str, run_id: str, task_id: str, map_index: int) -> Any:
    check_dag(dag_id)
    ti = mark_task_instance(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        state=TaskInstanceState(body["state"]),
        now=utcnow(),
    )
    db.commit()
    return ti


@blp.operation(
    "POST",
    "/<task_id>/clear",
    Action.EDIT,
    body=TaskClearSchema,
    returns=page_of(TaskInstanceSchema),
)
def clear_ti(body: dict[str, Any], dag_id: str, run_id: str, task_id: str) -> Any:
    """Clear a task (every instance of a mapped one unless ``map_index`` is given; and,
    optionally, everything downstream of it) to run again."""
    check_dag(dag_id)
    cleared = clear_task_instance(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=body["map_index"],
        downstream=body["downstream"],
        now=utcnow(),
    )
    db.commit()
    return Page.whole(cleared)


@blp.operation(
    "GET",
    "/<task_id>/logs/<int:try_number>",
    Action.READ,
    resource=Resource.TASK_LOGS,
    query=LogArgs,
    returns=LogSchema,
)
def get_log(args: dict[str, Any], dag_id: str, run_id: str, task_id: str, try_number: int) -> Any:
    """One try's log from ``offset`` on; poll with the returned ``next_offset`` to tail it."""
    ti = _get(dag_id, run_id, task_id, args["map_index"])
    return log_chunk(session=db.session(), ti=ti, try_number=try_number, offset=args["offset"])


@blp.operation(
    "GET",
    "/<task_id>/xcom",
    Action.READ,
    resource=Resource.XCOM,
    query=MapIndexArgs,
    returns=XComListSchema,
)
def get_xcom(args: dict[str, Any], dag_id: str, run_id: str, task_id: str) -> Any:
    """The XComs a task instance published (its return value is key ``return_value``)."""
    ti = _get(dag_id, run_id, task_id, args["map_index"])
    return {"items": xcoms_of(session=db.session(), ti=ti)}
