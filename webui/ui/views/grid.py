"""A DAG's grid: a page that is a frame, the grid's data as JSON, and one cell's details.

``static/grid.js`` draws the grid from ``/dags/<dag_id>/grid/data`` (see
:mod:`webui.ui.viewmodels.gridjson` for its shape), polls it again while a run is
unfinished, and opens a cell's details from ``/dags/<dag_id>/grid/cell``. Both are UI
routes: the session's cookies sign them in and the DAG's scope applies as on every page
(a DAG outside it is a 404). Their errors are JSON of the API's shape, for the script to
show. The actions in the details are the task instance page's forms (clear, mark), posted
with the page's CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template, request, url_for

from engine.errors import InvalidInputError, LoomError, NotFoundError
from engine.models import Dag, TaskInstance
from engine.security.roles import Action, Resource
from engine.services.taskinstances import get_task_instance, log_chunk
from engine.state import FINISHED
from engine.timeutil import utcnow
from webui import db
from webui.auth import allows_dag, check_dag
from webui.errors import STATUS_BY_ERROR, error_response
from webui.ui.blueprint import bp
from webui.ui.session import page
from webui.ui.viewmodels.grid import dag_grid as grid_of
from webui.ui.viewmodels.gridjson import grid_payload
from webui.ui.viewmodels.mapped import mapped_list
from webui.ui.viewmodels.runview import instance_name, ti_seconds
from webui.ui.views.runs import ti_args

GRID_RUNS = 25
"""Runs (columns) the grid shows unless ``?runs=`` says otherwise."""
GRID_RUNS_MAX = 100
LOG_TAIL_LINES = 20
"""Lines of the latest try's log the details panel shows."""


@bp.route("/dags/<dag_id>")
@page(Action.READ, Resource.DAGS)
def dag_grid(dag_id: str) -> str:
    """The frame grid.js draws into; without JavaScript, links to the runs and graph."""
    dag = check_dag(dag_id)
    wanted = _runs_arg()
    return render_template(
        "ui/dag_grid.html",
        dag=dag,
        wanted=wanted,
        data_url=url_for("ui.dag_grid_data", dag_id=dag_id, runs=wanted),
        cell_url=url_for("ui.dag_grid_cell", dag_id=dag_id),
        may_runs=allows_dag(dag, Action.READ, Resource.DAG_RUNS),
    )


@bp.route("/dags/<dag_id>/grid/data")
@page(Action.READ, Resource.DAGS)
def dag_grid_data(dag_id: str) -> Response:
    """The grid's latest ``?runs=`` runs (default 25, at most 100) as compact JSON; no
    runs for a user who may not read the DAG's runs."""
    try:
        dag = check_dag(dag_id)
        wanted = _runs_arg()
    except LoomError as exc:
        return _json_error(exc)
    shown = wanted if allows_dag(dag, Action.READ, Resource.DAG_RUNS) else 0
    grid = grid_of(session=db.session(), dag_id=dag_id, runs=shown)

    def run_href(run_id: str) -> str:
        return url_for("ui.run", dag_id=dag_id, run_id=run_id)

    reply = jsonify(grid_payload(dag_id, grid, run_href))
    reply.headers["Cache-Control"] = "no-store"
    return reply


@bp.route("/dags/<dag_id>/grid/cell")
@page(Action.READ, Resource.TASK_INSTANCES)
def dag_grid_cell(dag_id: str) -> Response:
    """One cell (``?task_id=&run_id=``): state, tries, times, the log's last lines and
    the actions the user may take; a mapped task's counts instead of one instance's."""
    try:
        dag = check_dag(dag_id)
        task_id, run_id = _required("task_id"), _required("run_id")
        details = _cell(dag, task_id, run_id)
    except LoomError as exc:
        return _json_error(exc)
    reply = jsonify(details)
    reply.headers["Cache-Control"] = "no-store"
    return reply


def _cell(dag: Dag, task_id: str, run_id: str) -> dict[str, Any]:
    session = db.session()
    try:
        ti = get_task_instance(session=session, dag_id=dag.dag_id, run_id=run_id, task_id=task_id)
    except InvalidInputError as exc:
        if "map_index" not in exc.problems:
            raise
        return _mapped_cell(dag, task_id, run_id)
    details = _instance_facts(ti)
    details["log"] = _log_tail(ti) if allows_dag(dag, Action.READ, Resource.TASK_LOGS) else None
    details["actions"] = _actions(dag, ti_args(ti), instance_name(ti))
    return details


def _instance_facts(ti: TaskInstance) -> dict[str, Any]:
    return {
        "kind": "task",
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "state": ti.state.value,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "operator": ti.operator,
        "start_date": _iso(ti.start_date),
        "end_date": _iso(ti.end_date),
        "duration": ti_seconds(ti, utcnow()),
        "finished": ti.state in FINISHED,
        "href": url_for("ui.task_instance", **ti_args(ti)),
        "run_href": url_for("ui.run", dag_id=ti.dag_id, run_id=ti.run_id),
    }


def _mapped_cell(dag: Dag, task_id: str, run_id: str) -> dict[str, Any]:
    """A mapped task's cell: how many instances in which state, and its list's link."""
    listed = mapped_list(
        session=db.session(),
        dag_id=dag.dag_id,
        run_id=run_id,
        task_id=task_id,
        offset=0,
        now=utcnow(),
    )
    summary = listed.summary
    args: dict[str, Any] = {"dag_id": dag.dag_id, "run_id": run_id, "task_id": task_id}
    return {
        "kind": "mapped",
        "task_id": task_id,
        "run_id": run_id,
        "state": summary.state.value if summary.state else None,
        "count": summary.count,
        "counts": [[state.value, n] for state, n in summary.by_state],
        "summary": summary.text,
        "finished": listed.finished,
        "href": url_for("ui.task_mapped", **args),
        "run_href": url_for("ui.run", dag_id=dag.dag_id, run_id=run_id),
        "log": None,
        "actions": _actions(dag, args, f"every instance of {task_id}", mark=False),
    }


def _log_tail(ti: TaskInstance) -> dict[str, Any] | None:
    """The latest try's last :data:`LOG_TAIL_LINES` lines; None before any try started."""
    if ti.try_number < 1:
        return None
    try:
        chunk = log_chunk(session=db.session(), ti=ti, try_number=None)
    except NotFoundError:
        return None
    lines = chunk.content.splitlines()
    return {
        "try_number": chunk.try_number,
        "lines": lines[-LOG_TAIL_LINES:],
        "cut": len(lines) > LOG_TAIL_LINES or chunk.truncated,
        "href": url_for("ui.task_instance", **{**ti_args(ti), "try": chunk.try_number}),
    }


def _actions(dag: Dag, args: dict[str, Any], name: str, mark: bool = True) -> list[dict[str, Any]]:
    """The task instance page's forms the user may post: each its URL, fields, and the
    question to confirm; none for a user who may not edit the DAG's task instances."""
    if not allows_dag(dag, Action.EDIT, Resource.TASK_INSTANCES):
        return []
    clear, marks = url_for("ui.clear_task", **args), url_for("ui.mark_task", **args)
    actions = [
        _action("Clear with downstream", clear, {"downstream": "true"},
                f"Clear {name} and every task downstream of it so that they run again?"),
        _action("Clear only this task", clear, {"downstream": "false"},
                f"Clear {name} (not its downstream tasks) so that it runs again?"),
    ]  # fmt: skip
    if mark:
        actions += [
            _action("Mark success", marks, {"state": "success"}, f"Mark {name} success?"),
            _action("Mark failed", marks, {"state": "failed"}, f"Mark {name} failed?"),
        ]
    return actions


def _action(label: str, url: str, fields: dict[str, str], confirm: str) -> dict[str, Any]:
    return {"label": label, "url": url, "fields": fields, "confirm": confirm}


def _runs_arg() -> int:
    """``?runs=``: how many of the latest runs to show (1 to :data:`GRID_RUNS_MAX`)."""
    raw = request.args.get("runs", "").strip()
    if not raw:
        return GRID_RUNS
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= GRID_RUNS_MAX:
        problem = f"must be a whole number from 1 to {GRID_RUNS_MAX}, not {raw!r}"
        raise InvalidInputError(f"runs: {problem}", problems={"runs": [problem]})
    return int(raw)


def _required(name: str) -> str:
    value = request.args.get(name, "").strip()
    if not value:
        problem = "is required"
        raise InvalidInputError(f"{name}: {problem}", problems={name: [problem]})
    return value


def _json_error(exc: LoomError) -> Response:
    code = next((status for kind, status in STATUS_BY_ERROR if isinstance(exc, kind)), 400)
    problems = exc.problems if isinstance(exc, InvalidInputError) else None
    return error_response(code, str(exc), problems)


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()
