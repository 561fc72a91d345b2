"""The home page: whether Loom's processes are alive, what ran over a chosen window, the
latest failures, pool usage, and what waits for someone (import errors, dead letters).

Every figure is within the signed-in user's DAG scope and shown only to a user who may
read it; the figures come from :mod:`engine.services.dashboard`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, render_template, request
from werkzeug.exceptions import BadRequest

from engine.config import Settings
from engine.security.roles import Action, Resource
from engine.services import dashboard
from engine.services.health import scheduler_threshold
from engine.timeutil import utcnow
from webui import db
from webui.auth import visible_dag_ids
from webui.ui.blueprint import bp
from webui.ui.session import can, page


@bp.route("/")
@page()
def home() -> str:
    window = request.args.get("window", dashboard.DEFAULT_WINDOW)
    if window not in dashboard.WINDOWS:
        names = ", ".join(dashboard.WINDOWS)
        raise BadRequest(f"window: {window[:40]!r} is not one of {names}")
    now = utcnow()
    since = now - dashboard.WINDOWS[window]
    figures: dict[str, Any] = {"window": window, "windows": list(dashboard.WINDOWS), "now": now}
    figures.update(_activity(since))
    figures.update(_waiting())
    if can(Action.READ, Resource.HEALTH):
        figures["liveness"] = dashboard.liveness(db.sessions(), now=now, thresholds=_thresholds())
    if can(Action.READ, Resource.POOLS):
        figures["pools"] = dashboard.pool_usage(session=db.session())
    return render_template("ui/home.html", **figures)


def _activity(since: datetime) -> dict[str, Any]:
    """Runs and task instances by state, and the latest failures, within the user's scope."""
    session, found = db.session(), dict[str, Any]()
    if can(Action.READ, Resource.DAG_RUNS):
        dag_ids = visible_dag_ids(Action.READ, Resource.DAG_RUNS)
        found["run_states"] = dashboard.run_states(session=session, since=since, dag_ids=dag_ids)
    if can(Action.READ, Resource.TASK_INSTANCES):
        dag_ids = visible_dag_ids(Action.READ, Resource.TASK_INSTANCES)
        found["task_states"] = dashboard.task_states(session=session, since=since, dag_ids=dag_ids)
        found["failures"] = dashboard.recent_failures(session=session, since=since, dag_ids=dag_ids)
    return found


def _waiting() -> dict[str, Any]:
    """Pending dead letters, when the user may read them (import errors: the template's
    ``import_errors()``, as in every page's banner)."""
    session, found = db.session(), dict[str, Any]()
    if can(Action.READ, Resource.DEAD_LETTERS):
        dag_ids = visible_dag_ids(Action.READ, Resource.DEAD_LETTERS)
        found["dead_letters"] = dashboard.pending_dead_letters(session=session, dag_ids=dag_ids)
    return found


def _thresholds() -> dashboard.Thresholds:
    settings: Settings = current_app.extensions["loom.settings"]
    return dashboard.Thresholds(
        scheduler=scheduler_threshold(settings.scheduler.tick_interval),
        triggerer=settings.triggerer.heartbeat_threshold,
        worker=settings.scheduler.zombie_threshold,
        notifier=settings.scheduler.zombie_threshold,
    )
