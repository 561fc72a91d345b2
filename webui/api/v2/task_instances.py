"""``/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances``: list (``~`` for every DAG
or run), get, mapped instances, patch (state, note), tries, logs per try, XCom entries; and
``POST /dags/{dag_id}/clearTaskInstances``.

A log answers lines as Airflow's structured messages, ``{"event": text, "timestamp":
when}`` (the time each line starts with, UTC; a line without one has no ``timestamp``),
and a ``continuation_token`` (the offset to ask from next: Loom's log
offsets); a running try's line still being written comes whole in a later answer.
``full_content`` reads from the start whatever the token.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.authoring.xcomvalues import readable
from engine.errors import InvalidInputError, NotFoundError
from engine.models import DagRun, TaskAttempt, TaskInstance, XCom
from engine.security.roles import Action, Resource
from engine.services.dags import load_serialized_dag
from engine.services.dagversions import load_run_dag
from engine.services.notes import set_task_instance_note
from engine.services.pagination import Page, paginate
from engine.services.runs import get_run
from engine.services.taskchanges import clear_task_instances, mark_task_instance
from engine.services.taskinstances import (
    TASK_INSTANCE_ORDER,
    attempts_of,
    dag_order_clauses,
    get_task_instance,
    log_chunk,
    mapped_instance_query,
    task_instance_list_query,
    with_runs,
)
from engine.services.tasklogs import whole_lines
from engine.services.xcoms import XCOM_ORDER, get_xcom_entry, xcom_query
from engine.state import TaskInstanceState
from engine.timeutil import split_log_time, utcnow
from webui import db
from webui.api.schemas.common import MAX_LIMIT
from webui.api.v2.common import V2PageArgs, collection, page, v2_blueprint
from webui.api.v2.dag_runs import ALL, dag_ids_for, patched
from webui.api.v2.schemas_runs import (
    ClearTasksSchema,
    LogArgs,
    LogSchema,
    TaskInstanceListArgs,
    TaskInstanceSchema,
    TaskPatchArgs,
    TaskPatchSchema,
    TaskTrySchema,
    XComArgs,
    XComEntryArgs,
    XComSchema,
    XComValueSchema,
)
from webui.auth import check_dag, check_reached_dags
from webui.remotelogs import remote_log_store

blp = v2_blueprint(
    "task_instances",
    "/dags/<dag_id>/dagRuns/<dag_run_id>/taskInstances",
    "TaskInstance",
    Resource.TASK_INSTANCES,
)
clearing = v2_blueprint("task_clear", "/dags/<dag_id>", "TaskInstance", Resource.TASK_INSTANCES)

TIS = collection("task_instances", TaskInstanceSchema)
TRIES = collection("task_instances", TaskTrySchema)
MAPPED = "/<task_id>/<int(signed=True):map_index>"


@blp.operation("GET", "", Action.READ, query=TaskInstanceListArgs, returns=TIS)
def list_task_instances(args: dict[str, Any], dag_id: str, dag_run_id: str) -> Any:
    """List task instances of a run (``~``: of every run, of a DAG or of every DAG)."""
    dag_ids = dag_ids_for(dag_id)
    run = None
    if dag_run_id != ALL:
        if dag_id == ALL:
            raise InvalidInputError("dag_run_id: name a DAG to name a run, or give '~' for both")
        run = get_run(session=db.session(), dag_id=dag_id, run_id=dag_run_id)
    stmt = task_instance_list_query(
        dag_ids=dag_ids, run=run, states=args["state"], task_id=args["task_id"]
    )
    if args["order_by"] or dag_id == ALL:
        return page("task_instances", stmt, args, TASK_INSTANCE_ORDER, "task_id")
    return _in_dag_order(stmt, args, dag_id, run)


def _in_dag_order(
    stmt: sa.Select[Any], args: dict[str, Any], dag_id: str, run: DagRun | None
) -> dict[str, Any]:
    """One DAG's task instances without ``order_by``: run by run, each in DAG order (the
    run's own graph for one run, the DAG's latest for ``~``)."""
    session = db.session()
    if run is not None:
        dag = load_run_dag(session=session, run=run).dag
    else:
        dag = load_serialized_dag(session=session, dag_id=dag_id)
    limit, offset = min(int(args["limit"]), MAX_LIMIT), int(args["offset"])
    found: Page[TaskInstance] = paginate(
        session=session, stmt=stmt, order=dag_order_clauses(dag), limit=limit, offset=offset
    )
    return {"task_instances": found.items, "total_entries": found.total}


def _get(dag_id: str, run_id: str, task_id: str, map_index: int) -> TaskInstance:
    check_dag(dag_id)
    return get_task_instance(
        session=db.session(), dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index
    )


@blp.operation("GET", "/<task_id>", Action.READ, returns=TaskInstanceSchema)
def get_ti(dag_id: str, dag_run_id: str, task_id: str) -> Any:
    """Get one task instance (of a mapped task: ``/{task_id}/{map_index}``)."""
    return _get(dag_id, dag_run_id, task_id, -1)


@blp.operation("GET", MAPPED, Action.READ, returns=TaskInstanceSchema)
def get_mapped_ti(dag_id: str, dag_run_id: str, task_id: str, map_index: int) -> Any:
    """Get one instance of a mapped task."""
    return _get(dag_id, dag_run_id, task_id, map_index)


@blp.operation("GET", "/<task_id>/listMapped", Action.READ, query=V2PageArgs, returns=TIS)
def list_mapped(args: dict[str, Any], dag_id: str, dag_run_id: str, task_id: str) -> Any:
    """List the instances of a mapped task by map index."""
    check_dag(dag_id)
    stmt = mapped_instance_query(
        session=db.session(), dag_id=dag_id, run_id=dag_run_id, task_id=task_id
    )
    return page("task_instances", with_runs(stmt), args, TASK_INSTANCE_ORDER, "map_index")


@blp.operation(
    "PATCH", "/<task_id>", Action.EDIT, query=TaskPatchArgs, body=TaskPatchSchema, returns=TIS
)
def patch_ti(
    args: dict[str, Any], body: dict[str, Any], dag_id: str, dag_run_id: str, task_id: str
) -> Any:
    """Mark a task instance success, failed or skipped (``new_state``), set its note
    (``map_index``: one instance of a mapped task)."""
    map_index = -1 if args["map_index"] is None else args["map_index"]
    return _patch(args, body, dag_id, dag_run_id, task_id, map_index)


@blp.operation("PATCH", MAPPED, Action.EDIT, query=TaskPatchArgs, body=TaskPatchSchema, returns=TIS)
def patch_mapped_ti(
    args: dict[str, Any],
    body: dict[str, Any],
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    map_index: int,
) -> Any:
    """Mark one instance of a mapped task success, failed or skipped; set its note."""
    return _patch(args, body, dag_id, dag_run_id, task_id, map_index)


def _patch(
    args: dict[str, Any], body: dict[str, Any], dag_id: str, run_id: str, task_id: str, index: int
) -> Any:
    check_dag(dag_id)
    wider = [
        name for name in ("upstream", "downstream", "future", "past") if body[f"include_{name}"]
    ]
    if wider:
        raise InvalidInputError(f"include_{wider[0]}: Loom marks one task instance at a time")
    changed = patched(args["update_mask"], body) & {"new_state", "note"}
    if "new_state" in changed and body.get("new_state") is not None:
        mark_task_instance(
            session=db.session(),
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=index,
            state=TaskInstanceState(body["new_state"]),
            now=utcnow(),
        )
    if "note" in changed:
        set_task_instance_note(
            session=db.session(),
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=index,
            note=body.get("note"),
        )
    if changed:
        db.commit()
    return {"task_instances": [_get(dag_id, run_id, task_id, index)], "total_entries": 1}


def _tries(ti: TaskInstance, attempts: list[TaskAttempt]) -> list[dict[str, Any]]:
    """Each try as :class:`TaskTrySchema` reads it: the instance's key and settings by the
    model's names, the attempt's own fields."""
    shown_of_ti = {name: getattr(ti, name) for name in TaskTrySchema.FROM_TASK_INSTANCE}
    return [
        {
            **shown_of_ti,
            "try_number": attempt.try_number,
            "state": attempt.state,
            "start_date": attempt.start_date,
            "end_date": attempt.end_date,
            "duration": _seconds(attempt),
            "hostname": attempt.hostname,
            "pid": attempt.pid,
        }
        for attempt in attempts
    ]


def _seconds(attempt: TaskAttempt) -> float | None:
    if attempt.start_date is None or attempt.end_date is None:
        return None
    return (attempt.end_date - attempt.start_date).total_seconds()


@blp.operation("GET", "/<task_id>/tries", Action.READ, returns=TRIES)
def list_tries(dag_id: str, dag_run_id: str, task_id: str) -> Any:
    """The task instance's tries."""
    return _tries_page(_get(dag_id, dag_run_id, task_id, -1))


@blp.operation("GET", f"{MAPPED}/tries", Action.READ, returns=TRIES)
def list_mapped_tries(dag_id: str, dag_run_id: str, task_id: str, map_index: int) -> Any:
    """One mapped instance's tries."""
    return _tries_page(_get(dag_id, dag_run_id, task_id, map_index))


def _tries_page(ti: TaskInstance) -> dict[str, Any]:
    tries = _tries(ti, attempts_of(session=db.session(), ti=ti))
    return {"task_instances": tries, "total_entries": len(tries)}


@blp.operation("GET", "/<task_id>/tries/<int:task_try_number>", Action.READ, returns=TaskTrySchema)
def get_try(dag_id: str, dag_run_id: str, task_id: str, task_try_number: int) -> Any:
    """One try of the task instance."""
    ti = _get(dag_id, dag_run_id, task_id, -1)
    for found in _tries(ti, attempts_of(session=db.session(), ti=ti)):
        if found["try_number"] == task_try_number:
            return found
    raise NotFoundError(f"task {task_id!r} has no try {task_try_number}")


@blp.operation(
    "GET",
    "/<task_id>/logs/<int:try_number>",
    Action.READ,
    resource=Resource.TASK_LOGS,
    query=LogArgs,
    returns=LogSchema,
)
def get_log(
    args: dict[str, Any], dag_id: str, dag_run_id: str, task_id: str, try_number: int
) -> Any:
    """One try's log as lines, from the start or from ``token`` (the last answer's
    ``continuation_token``) on."""
    ti = _get(dag_id, dag_run_id, task_id, args["map_index"])
    offset = 0 if args["full_content"] else _offset(args["token"])
    chunk = whole_lines(log_chunk(
        session=db.session(), ti=ti, try_number=try_number, offset=offset,
        remote=remote_log_store(),
    ))  # fmt: skip
    lines = [_message(line) for line in chunk.content.splitlines()]
    if chunk.note is not None:  # the start is in a remote store that could not be read
        lines.insert(0, {"event": chunk.note, "level": "warning", "logger": "loom.remote_logs"})
    return {"content": lines, "continuation_token": str(chunk.next_offset)}


def _message(line: str) -> dict[str, Any]:
    """A log line as Airflow's structured message: its time apart, where it has one."""
    moment, rest = split_log_time(line)
    if moment is None:
        return {"event": line}
    return {"event": rest, "timestamp": moment.isoformat().replace("+00:00", "Z")}


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isdigit() or len(token) > 12:
        raise InvalidInputError("token: not a continuation token this API gave")
    return int(token)


def _xcom(xcom: XCom, run: DagRun) -> dict[str, Any]:
    return {
        "key": xcom.key,
        "dag_id": xcom.dag_id,
        "dag_display_name": xcom.dag_id,
        "run_id": xcom.run_id,
        "task_id": xcom.task_id,
        "task_display_name": xcom.task_id,
        "map_index": xcom.map_index,
        "timestamp": xcom.created_at,
        "logical_date": run.logical_date,
        "run_after": run.run_after,
        "value": readable(xcom.value),
    }


@blp.listing(
    "/<task_id>/xcomEntries", "xcom_entries", XComSchema, query=XComArgs, resource=Resource.XCOM
)
def list_xcoms(args: dict[str, Any], dag_id: str, dag_run_id: str, task_id: str) -> Any:
    """The XCom entries a task published (its return value is key ``return_value``)."""
    check_dag(dag_id)
    run = get_run(session=db.session(), dag_id=dag_id, run_id=dag_run_id)
    stmt = xcom_query(
        dag_id=dag_id, run_id=dag_run_id, task_id=task_id, map_index=args["map_index"]
    )
    result = page("xcom_entries", stmt, args, XCOM_ORDER, "key")
    result["xcom_entries"] = [_xcom(xcom, run) for xcom in result["xcom_entries"]]
    return result


@blp.operation(
    "GET",
    "/<task_id>/xcomEntries/<xcom_key>",
    Action.READ,
    resource=Resource.XCOM,
    query=XComEntryArgs,
    returns=XComValueSchema,
)
def get_xcom(
    args: dict[str, Any], dag_id: str, dag_run_id: str, task_id: str, xcom_key: str
) -> Any:
    """One XCom entry with its value (as JSON); ``map_index`` names a mapped instance's."""
    ti = _get(dag_id, dag_run_id, task_id, args["map_index"])
    xcom = get_xcom_entry(
        session=db.session(),
        dag_id=dag_id,
        run_id=dag_run_id,
        task_id=task_id,
        map_index=ti.map_index,
        key=xcom_key,
    )
    return _xcom(xcom, ti.dag_run)


@clearing.operation("POST", "/clearTaskInstances", Action.EDIT, body=ClearTasksSchema, returns=TIS)
def clear_tis(body: dict[str, Any], dag_id: str) -> Any:
    """Clear task instances of one run (``dag_run_id``) so that they run again
    (``only_failed`` by default, as in Airflow); ``dry_run`` (the default) only lists them."""
    check_dag(dag_id)
    if body["dag_run_id"] is None:
        raise InvalidInputError("dag_run_id: Loom clears one run at a time; name it")
    for name in ("include_upstream", "include_future", "include_past", "only_running"):
        if body[name]:
            raise InvalidInputError(f"{name}: not supported by Loom")
    session = db.session()
    run = get_run(session=session, dag_id=dag_id, run_id=body["dag_run_id"])
    task_ids = body["task_ids"]
    if body["only_failed"]:
        failed = {
            ti.task_id
            for ti in run.task_instances
            if ti.state in (TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED)
        }
        task_ids = sorted(failed if task_ids is None else failed & set(task_ids))
        if not task_ids:
            return {"task_instances": [], "total_entries": 0}
    cleared = clear_task_instances(
        session=session,
        dag_id=dag_id,
        run_id=run.run_id,
        task_ids=task_ids,
        downstream=body["include_downstream"],
        now=utcnow(),
    )
    if body["dry_run"]:
        session.rollback()
    else:
        check_reached_dags(ti.dag_id for ti in cleared)
        db.commit()
    return {"task_instances": cleared, "total_entries": len(cleared)}
