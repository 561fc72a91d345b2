"""The DAG list: search, tags, latest runs, pause toggle, trigger; an import error."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.models import Dag
from engine.security.roles import Action, Resource
from engine.services.dagdetails import details_by_id
from engine.services.dags import DagFilter, dag_query, get_import_error, set_dag_paused
from engine.services.pagination import Page
from webui import db
from webui.auth import allows_dag, check_dag, visible_dag_ids
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page
from webui.ui.viewmodels.overview import recent_runs

PAGE_SIZE = 50
RECENT_RUNS = 10
"""Squares shown per DAG in the list."""


@bp.route("/")
def home() -> Response:
    return redirect(url_for("ui.dags"))


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
    return render_template("ui/dags.html", page=listed, runs=runs, args=args, page_details=details)


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
