"""The DAG list: search, tags, latest runs (refreshed live), next run with its data interval,
the pause switch, trigger; an import error."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from engine.models import Dag
from engine.security.roles import Action, Resource
from engine.services.dagdetails import details_by_id
from engine.services.daglist import DagFilter, dag_query
from engine.services.dags import get_import_error, set_dag_paused
from engine.services.pagination import Page
from engine.services.schedule import next_planned_runs
from engine.timeutil import utcnow
from webui import db
from webui.auth import allows_dag, check_dag, visible_dag_ids
from webui.ui import present
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page
from webui.ui.viewmodels.overview import RunSummary, recent_runs

PAGE_SIZE = 50
RECENT_RUNS = 10
"""Squares shown per DAG in the list."""


@bp.route("/dags")
@page(Action.READ, Resource.DAGS)
def dags() -> str:
    search = request.args.get("search", "").strip()
    tag = request.args.get("tag", "").strip()
    paused = {"active": False, "paused": True}.get(request.args.get("status", ""))
    filters = DagFilter(
        tags=[tag] if tag else None,
        paused=paused,
        active=True,
        search=search or None,
        dag_ids=visible_dag_ids(),
    )
    session = db.session()
    listed: Page[Dag] = list_page(
        dag_query(filters, session=session), order=[Dag.dag_id], limit=PAGE_SIZE
    )
    with_runs = [d.dag_id for d in listed.items if allows_dag(d, Action.READ, Resource.DAG_RUNS)]
    runs = recent_runs(session=session, dag_ids=with_runs, per_dag=RECENT_RUNS)
    args: dict[str, Any] = {"search": search, "tag": tag, "status": request.args.get("status", "")}
    details = details_by_id(session, listed.items)
    planned = next_planned_runs(
        session=session, dag_ids=[d.dag_id for d in listed.items], now=utcnow()
    )
    return render_template(
        "ui/dags.html",
        page=listed,
        runs=runs,
        args=args,
        page_details=details,
        planned=planned,
        live_ids=with_runs,
    )


@bp.route("/latest-runs")
@page(Action.READ, Resource.DAG_RUNS)
def latest_runs() -> Response:
    """The latest runs of the DAGs named by ``dag_id`` (repeated) that the user may read,
    oldest first: what the DAG list's "Latest runs" column polls while it is open."""
    wanted = request.args.getlist("dag_id")
    if len(wanted) > PAGE_SIZE:
        raise BadRequest(f"dag_id: at most {PAGE_SIZE} DAGs at once, not {len(wanted)}")
    visible = visible_dag_ids()
    dag_ids = [d for d in wanted if visible is None or d in visible]
    found = recent_runs(session=db.session(), dag_ids=dag_ids, per_dag=RECENT_RUNS)
    body = {
        dag_id: [_square(dag_id, run) for run in reversed(found.get(dag_id, []))]
        for dag_id in dag_ids
    }
    return jsonify(body)


def _square(dag_id: str, run: RunSummary) -> dict[str, str]:
    """One run as the list draws it (the glyph and words a page's square carries)."""
    return {
        "run_id": run.run_id,
        "state": present.state_value(run.state),
        "label": f"{run.run_id}: {present.state_label(run.state)}",
        "glyph": present.state_glyph(run.state),
        "url": url_for("ui.run", dag_id=dag_id, run_id=run.run_id),
    }


@bp.route("/dags/<dag_id>/pause", methods=["POST"])
@page(Action.EDIT, Resource.DAGS)
def pause(dag_id: str) -> Response:
    check_dag(dag_id)
    paused = request.form.get("paused") == "true"
    set_dag_paused(session=db.session(), dag_id=dag_id, is_paused=paused)
    db.commit()
    flash(f"{dag_id} {'paused' if paused else 'unpaused'}")
    return redirect(request.referrer or url_for("ui.dags"))


@bp.route("/import-errors/<int:id>")
@page(Action.READ, Resource.IMPORT_ERRORS)
def import_error(id: int) -> str:
    """A broken DAG file's error; 404 unless the file defines a DAG the user may see."""
    error = get_import_error(session=db.session(), id=id, dag_ids=visible_dag_ids())
    return render_template("ui/import_error.html", error=error)
