"""A run and one of its task instances: states, tries, Gantt bars, logs, XCom, and actions.

An instance of a mapped task is addressed by ``?map_index=N`` on every task instance
URL (page, live fragments, log, clear, mark); without it the URL means the instance of a
task that is not mapped (-1), and a mapped task's page sends to the list of its
instances (``.../tasks/<task_id>/mapped``).

A run id may hold ``/``, ``:`` and ``+`` (``scheduled__2026-01-05T00:00:00+00:00``), so
it is always the last part of a URL (``<path:run_id>``); what comes after a run in a
URL goes before it instead, under a prefix of its own (``/dags/<dag_id>/run-live/<run>``).

While a run or a task instance may still change, its part of the page carries
``data-live`` (loom.js replaces it with its fragment every few seconds), and a running
try's log carries ``data-log`` (loom.js appends the chunks the JSON endpoint returns).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from typing import Any, TypeVar

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from engine.authoring.xcomvalues import readable
from engine.errors import InvalidInputError, NotFoundError
from engine.models import Dag, DagRun, TaskInstance
from engine.security.roles import Action, Resource
from engine.services.brokenfiles import broken_dag
from engine.services.crosslinks import RunLink, links_of, triggering_instance
from engine.services.runs import mark_run
from engine.services.runwait import RunWait, run_wait
from engine.services.taskchanges import (
    clear_task_instance,
    clear_task_instances,
    mark_task_instance,
)
from engine.services.taskinstances import LogChunk, attempts_of, get_task_instance, log_chunk
from engine.services.xcoms import xcoms_of
from engine.state import FINISHED, DagRunState, TaskInstanceState
from engine.timeutil import utcnow
from webui import db
from webui.auth import allows_dag, check_dag, check_reached_dags
from webui.remotelogs import remote_log_store
from webui.ui.blueprint import bp
from webui.ui.paging import offset_arg
from webui.ui.present import span
from webui.ui.session import page
from webui.ui.viewmodels.mapped import mapped_list
from webui.ui.viewmodels.runview import (
    instance_name,
    run_task,
    run_view,
    task_docs,
    task_fields,
)

RUN = "/dags/<dag_id>/runs/<path:run_id>"
T = TypeVar("T", TaskInstance, RunLink)
MARKS = {"success", "failed"}
"""What a person may mark a run or a task instance from these pages."""


def pretty(value: Any) -> str:
    """A JSON value as it reads on a page: strings as they are, the rest indented."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def seconds(value: float | None) -> str:
    """A number of seconds as durations read elsewhere (``3.2s``, ``1m 05s``)."""
    return "—" if value is None else span(timedelta(seconds=value))


def ti_args(ti: TaskInstance) -> dict[str, Any]:
    """The URL arguments that address ``ti``: its map index only when it has one."""
    return _instance_args(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)


def _instance_args(dag_id: str, run_id: str, task_id: str, map_index: int | None) -> dict[str, Any]:
    args: dict[str, Any] = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id}
    if map_index is not None and map_index >= 0:
        args["map_index"] = map_index
    return args


def _helpers() -> dict[str, Any]:
    """What the templates of this module use besides the blueprint's globals."""
    return {
        "pretty": pretty,
        "readable": readable,
        "seconds": seconds,
        "now": utcnow(),
        "ti_args": ti_args,
        "instance_name": instance_name,
        "run_wait": _run_wait,
        "ti_wait": _ti_wait,
    }


HELD_STATES = frozenset(
    {TaskInstanceState.NONE, TaskInstanceState.SCHEDULED, TaskInstanceState.UP_FOR_RETRY}
)
"""Task instance states the scheduler holds back while the DAG file does not import."""


def _run_wait(run: DagRun) -> RunWait | None:
    """Why the run waits (shown on its page), when it does."""
    return run_wait(session=db.session(), run=run, now=utcnow())


def _ti_wait(ti: TaskInstance) -> str | None:
    """Why the task instance is not queued, when its DAG file does not import now."""
    if ti.state not in HELD_STATES:
        return None
    broken = broken_dag(session=db.session(), dag_id=ti.dag_id)
    return f"not queued: {broken.reason}" if broken is not None else None


def _map_index_arg() -> int | None:
    """The request's ``?map_index=`` (-1 or more); None when absent."""
    raw = request.args.get("map_index", "")
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -2
    if value < -1:
        raise BadRequest(f"map_index: must be a map index (0, 1, ...; -1: not mapped), not {raw!r}")
    return value


def _given_or_unmapped(map_index: int | None) -> int:
    """The map index given, else -1 (a task that is not mapped)."""
    return -1 if map_index is None else map_index


def _instance(dag_id: str, run_id: str, task_id: str) -> TaskInstance:
    """The task instance the URL names (``?map_index=``; default -1)."""
    map_index = _map_index_arg()
    return get_task_instance(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=_given_or_unmapped(map_index),
    )


def _chosen(form_field: str) -> str:
    value = request.form.get(form_field, "")
    if value not in MARKS:
        raise BadRequest(f"{form_field}: must be success or failed, not {value!r}")
    return value


# -- the run ----------------------------------------------------------------------------------


@bp.route(RUN)
@page(Action.READ, Resource.DAG_RUNS)
def run(dag_id: str, run_id: str) -> str:
    return _run_page("ui/run.html", dag_id, run_id)


@bp.route("/dags/<dag_id>/run-live/<path:run_id>")
@page(Action.READ, Resource.DAG_RUNS)
def run_live(dag_id: str, run_id: str) -> str:
    """The run's facts and task table alone, for loom.js to refresh them in place."""
    return _run_page("ui/run_live.html", dag_id, run_id)


def _run_page(template: str, dag_id: str, run_id: str) -> str:
    dag = check_dag(dag_id)
    view = run_view(session=db.session(), dag_id=dag_id, run_id=run_id, now=utcnow())
    return render_template(
        template,
        dag=dag,
        view=view,
        triggered_from=_visible(triggering_instance(session=db.session(), run=view.run)),
        show_tasks=allows_dag(dag, Action.READ, Resource.TASK_INSTANCES),
        may_edit=allows_dag(dag, Action.EDIT, Resource.DAG_RUNS),
        **_helpers(),
    )


@bp.route("/dags/<dag_id>/run-mark/<path:run_id>", methods=["POST"])
@page(Action.EDIT, Resource.DAG_RUNS)
def mark_run_state(dag_id: str, run_id: str) -> Response:
    check_dag(dag_id)
    state = DagRunState(_chosen("state"))
    mark_run(session=db.session(), dag_id=dag_id, run_id=run_id, state=state, now=utcnow())
    db.commit()
    flash(f"run {run_id} marked {state.value}")
    return redirect(url_for("ui.run", dag_id=dag_id, run_id=run_id))


@bp.route("/dags/<dag_id>/run-clear/<path:run_id>", methods=["POST"])
@page(Action.EDIT, Resource.DAG_RUNS)
def clear_run(dag_id: str, run_id: str) -> Response:
    """Clear the run's failed tasks (``only_failed=true``, the default) or all of them."""
    check_dag(dag_id)
    session = db.session()
    only_failed = request.form.get("only_failed", "true") != "false"
    task_ids = None
    if only_failed:
        view = run_view(session=session, dag_id=dag_id, run_id=run_id, now=utcnow())
        task_ids = view.failed_task_ids
    if task_ids == []:
        flash("the run has no failed tasks: nothing was cleared")
        return redirect(url_for("ui.run", dag_id=dag_id, run_id=run_id))
    cleared = clear_task_instances(
        session=session, dag_id=dag_id, run_id=run_id, task_ids=task_ids, now=utcnow()
    )
    db.commit()
    flash(_cleared_message(cleared))
    return redirect(url_for("ui.run", dag_id=dag_id, run_id=run_id))


def _cleared_message(cleared: list[TaskInstance]) -> str:
    names = ", ".join(sorted(_cleared_name(ti, cleared[0].dag_id) for ti in cleared))
    names = names or "none (running tasks are left)"
    return f"cleared {len(cleared)} task(s) to run again: {names}"


def _visible(item: T | None) -> T | None:
    """``item`` (a task instance or a link, of some DAG) when the user may read that DAG's
    runs; links between DAGs never show a DAG outside the user's scope."""
    if item is None:
        return None
    other = db.session().get(Dag, item.dag_id)
    return item if other is not None and allows_dag(other, Action.READ, Resource.DAG_RUNS) else None


def _cleared_name(ti: TaskInstance, dag_id: str) -> str:
    """A cleared task's name; with its DAG's when a marker reached into another DAG."""
    return ti.task_id if ti.dag_id == dag_id else f"{ti.dag_id}.{ti.task_id}"


# -- a task instance --------------------------------------------------------------------------


@bp.route(f"{RUN}/tasks/<task_id>")
@page(Action.READ, Resource.TASK_INSTANCES)
def task_instance(dag_id: str, run_id: str, task_id: str) -> str | Response:
    dag = check_dag(dag_id)
    session = db.session()
    try:
        ti = _instance(dag_id, run_id, task_id)
    except InvalidInputError as exc:
        if "map_index" not in exc.problems or "map_index" in request.args:
            raise
        # A mapped task without a map index: the list of its instances.
        return redirect(url_for("ui.task_mapped", dag_id=dag_id, run_id=run_id, task_id=task_id))
    wanted = request.args.get("try", type=int)
    if "try" in request.args and (wanted is None or wanted < 1):
        raise BadRequest("try: must be a try number, 1 or more")
    attempts = attempts_of(session=session, ti=ti)
    may_logs = allows_dag(dag, Action.READ, Resource.TASK_LOGS)
    may_xcom = allows_dag(dag, Action.READ, Resource.XCOM)
    log = _log_or_none(ti, wanted) if may_logs else None
    latest = attempts[-1].try_number if attempts else None
    shown_try = log.try_number if log is not None else wanted or latest
    attempt = next((a for a in attempts if a.try_number == shown_try), None)
    task = run_task(session=session, ti=ti)
    return render_template(
        "ui/task_instance.html",
        dag=dag,
        ti=ti,
        here=ti_args(ti),
        attempts=attempts,
        shown_try=shown_try,
        log=log,
        may_logs=may_logs,
        fields=task_fields(task, attempt),
        about=task_docs(task),
        links=[link for link in links_of(session=session, ti=ti, task=task) if _visible(link)],
        xcoms=xcoms_of(session=session, ti=ti) if may_xcom else None,
        may_edit=allows_dag(dag, Action.EDIT, Resource.TASK_INSTANCES),
        finished=ti.state in FINISHED,
        **_helpers(),
    )


@bp.route(f"{RUN}/tasks/<task_id>/mapped")
@page(Action.READ, Resource.TASK_INSTANCES)
def task_mapped(dag_id: str, run_id: str, task_id: str) -> str:
    """A mapped task's instances in the run: each map index, its state, tries and times."""
    dag = check_dag(dag_id)
    view = mapped_list(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        offset=offset_arg(),
        now=utcnow(),
    )
    return render_template(
        "ui/task_mapped.html",
        dag=dag,
        view=view,
        may_logs=allows_dag(dag, Action.READ, Resource.TASK_LOGS),
        **_helpers(),
    )


def _log_or_none(ti: TaskInstance, try_number: int | None) -> LogChunk | None:
    """The whole log of a try (default: the latest); None while no try has started."""
    if try_number is None and ti.try_number < 1:
        return None
    try:
        return log_chunk(
            session=db.session(), ti=ti, try_number=try_number, remote=remote_log_store()
        )
    except NotFoundError:
        if try_number is not None:
            raise
        return None


@bp.route("/dags/<dag_id>/task-live/<task_id>/<path:run_id>")
@page(Action.READ, Resource.TASK_INSTANCES)
def task_instance_live(dag_id: str, run_id: str, task_id: str) -> str:
    """The task instance's facts and attempts alone, for loom.js to refresh them in place."""
    check_dag(dag_id)
    session = db.session()
    ti = _instance(dag_id, run_id, task_id)
    return render_template(
        "ui/task_instance_live.html",
        ti=ti,
        attempts=attempts_of(session=session, ti=ti),
        finished=ti.state in FINISHED,
        **_helpers(),
    )


@bp.route("/dags/<dag_id>/task-log-live/<task_id>/<path:run_id>")
@page(Action.READ, Resource.TASK_LOGS)
def task_log_live(dag_id: str, run_id: str, task_id: str) -> str:
    """The latest try's log, refreshed whole until it is complete: for a page opened
    before any try started (a try running when the page opened is followed instead)."""
    check_dag(dag_id)
    ti = _instance(dag_id, run_id, task_id)
    return render_template(
        "ui/task_instance_log.html",
        ti=ti,
        log=_log_or_none(ti, None),
        attempts=attempts_of(session=db.session(), ti=ti),
        finished=ti.state in FINISHED,
        **_helpers(),
    )


@bp.route("/dags/<dag_id>/task-log/<task_id>/<path:run_id>")
@bp.route("/dags/<dag_id>/task-try-log/<task_id>/<int:try_number>/<path:run_id>")
@page(Action.READ, Resource.TASK_LOGS)
def task_log(dag_id: str, run_id: str, task_id: str, try_number: int | None = None) -> Response:
    """A try's log from ``?offset=`` on, as JSON (``?try=``, or in the path; default latest;
    ``?map_index=`` for an instance of a mapped task)."""
    try:
        offset = _whole("offset") or 0
        wanted = try_number if try_number is not None else _whole("try")
        map_index = _whole("map_index")
    except ValueError as exc:
        return _json_error(400, str(exc))
    try:
        check_dag(dag_id)
        ti = get_task_instance(
            session=db.session(),
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=_given_or_unmapped(map_index),
        )
        chunk = log_chunk(
            session=db.session(), ti=ti, try_number=wanted, offset=offset,
            remote=remote_log_store(),
        )  # fmt: skip
    except NotFoundError as exc:
        return _json_error(404, str(exc))
    except InvalidInputError as exc:
        return _json_error(400, str(exc))
    return jsonify(asdict(chunk))


def _whole(name: str) -> int | None:
    """Query argument ``name`` as a whole number (0 or more); None when absent."""
    raw = request.args.get(name, "")
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise ValueError(f"{name}: must be a whole number, 0 or more, not {raw!r}")
    return int(raw)


def _json_error(status: int, message: str) -> Response:
    reply = jsonify(message=message)
    reply.status_code = status
    return reply


@bp.route("/dags/<dag_id>/task-clear/<task_id>/<path:run_id>", methods=["POST"])
@page(Action.EDIT, Resource.TASK_INSTANCES)
def clear_task(dag_id: str, run_id: str, task_id: str) -> Response:
    """Clear the task (``downstream=true``: and everything downstream) to run again;
    ``?map_index=`` clears only that instance of a mapped task (without it, all of them)."""
    check_dag(dag_id)
    map_index = _map_index_arg()
    cleared = clear_task_instance(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        downstream=request.form.get("downstream") == "true",
        now=utcnow(),
    )
    check_reached_dags(ti.dag_id for ti in cleared)
    db.commit()
    flash(_cleared_message(cleared))
    here = _instance_args(dag_id, run_id, task_id, map_index)
    return redirect(url_for("ui.task_instance", **here))


@bp.route("/dags/<dag_id>/task-mark/<task_id>/<path:run_id>", methods=["POST"])
@page(Action.EDIT, Resource.TASK_INSTANCES)
def mark_task(dag_id: str, run_id: str, task_id: str) -> Response:
    """Mark the task instance (``?map_index=``: that instance of a mapped task)."""
    check_dag(dag_id)
    state = TaskInstanceState(_chosen("state"))
    ti = mark_task_instance(
        session=db.session(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=_given_or_unmapped(_map_index_arg()),
        state=state,
        now=utcnow(),
    )
    db.commit()
    flash(f"task {instance_name(ti)} marked {state.value}")
    return redirect(url_for("ui.task_instance", **ti_args(ti)))
