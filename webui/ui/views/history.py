"""A DAG's runs across time: the calendar of its runs per day, and its tasks' duration and
landing time charts over its last runs (views of the DAG, beside the grid and the graph).

Both read through :mod:`engine.services.runhistory`; the day a calendar square links to is
the runs list filtered to that day (``/dags/<dag_id>/runs?day=YYYY-MM-DD``).
"""

from __future__ import annotations

import re
from datetime import date

from flask import render_template, request
from werkzeug.exceptions import BadRequest

from engine.security.roles import Action, Resource
from engine.timeutil import utcnow
from webui import db
from webui.auth import check_dag
from webui.ui.blueprint import bp
from webui.ui.session import page
from webui.ui.viewmodels.calendar import calendar_of
from webui.ui.viewmodels.taskcharts import task_charts

FIRST_YEAR, LAST_YEAR = 1970, 9998
CHART_RUNS = 25
"""Runs the duration and landing charts cover unless ``?runs=`` says otherwise."""
CHART_RUNS_MAX = 200
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@bp.route("/dags/<dag_id>/calendar")
@page(Action.READ, Resource.DAG_RUNS)
def dag_calendar(dag_id: str) -> str:
    """A year of the DAG's runs (``?year=``; default this year), a square per day."""
    dag = check_dag(dag_id)
    year = _whole_arg("year", utcnow().year, FIRST_YEAR, LAST_YEAR)
    calendar = calendar_of(session=db.session(), dag_id=dag_id, year=year)
    return render_template("ui/dag_calendar.html", dag=dag, calendar=calendar)


@bp.route("/dags/<dag_id>/durations")
@page(Action.READ, Resource.TASK_INSTANCES)
def dag_durations(dag_id: str) -> str:
    """Each task's duration and landing time over the last ``?runs=`` runs."""
    dag = check_dag(dag_id)
    runs = _whole_arg("runs", CHART_RUNS, 1, CHART_RUNS_MAX)
    charts = task_charts(session=db.session(), dag_id=dag_id, runs=runs)
    return render_template("ui/dag_durations.html", dag=dag, charts=charts, wanted=runs)


def _whole_arg(name: str, default: int, low: int, high: int) -> int:
    """Query argument ``name``: a whole number from ``low`` to ``high`` (400 otherwise)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name}: must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def day_arg() -> date | None:
    """The request's ``?day=YYYY-MM-DD`` (what a calendar square links to); None when absent."""
    raw = request.args.get("day", "").strip()
    if not raw:
        return None
    try:
        if _DAY.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise BadRequest(f"day: must be a date as YYYY-MM-DD, not {raw!r}")
