"""A run's Gantt chart (a tab of the run page) and the run's note (a form on the run page).

The note is set through :func:`engine.services.notes.set_run_note`, as the API's
``PATCH /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}`` does, with the permission to edit
runs; like every UI form it needs its CSRF token and leaves an audit entry.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.security.roles import Action, Resource
from engine.services.notes import set_run_note
from engine.timeutil import utcnow
from webui import db
from webui.auth import check_dag
from webui.ui.blueprint import bp
from webui.ui.session import page
from webui.ui.viewmodels.gantt import run_gantt
from webui.ui.views.runs import ti_args


@bp.route("/dags/<dag_id>/run-gantt/<path:run_id>")
@page(Action.READ, Resource.TASK_INSTANCES)
def run_gantt_chart(dag_id: str, run_id: str) -> str:
    dag = check_dag(dag_id)
    gantt = run_gantt(session=db.session(), dag_id=dag_id, run_id=run_id, now=utcnow())
    return render_template("ui/run_gantt.html", dag=dag, gantt=gantt, ti_args=ti_args)


@bp.route("/dags/<dag_id>/run-note/<path:run_id>", methods=["POST"])
@page(Action.EDIT, Resource.DAG_RUNS)
def run_note(dag_id: str, run_id: str) -> Response:
    """Set the run's note (``note``; empty: clear it)."""
    check_dag(dag_id)
    text = request.form.get("note", "").replace("\r\n", "\n").strip()
    set_run_note(session=db.session(), dag_id=dag_id, run_id=run_id, note=text or None)
    db.commit()
    flash("note saved" if text else "note cleared")
    return redirect(url_for("ui.run", dag_id=dag_id, run_id=run_id))
