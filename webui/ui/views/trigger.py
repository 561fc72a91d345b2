"""The trigger page: a form generated from the DAG's params, or conf as raw JSON.

Both ways end in ``engine.services.runs.trigger_dag``, as the API and the CLI do, so conf
is checked against the params in one place; its problems come back next to each field,
with everything the user typed kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from engine.authoring.params import Param, ParamsError
from engine.errors import ConflictError, InvalidInputError
from engine.models import Dag
from engine.security.roles import Action, Resource
from engine.services.brokenfiles import broken_dag
from engine.services.dags import load_serialized_dag
from engine.services.runs import trigger_dag
from engine.services.userinput import checked_datetime, loads_json
from engine.timeutil import utcnow
from webui import db
from webui.api.schemas.common import RUN_ID
from webui.auth import check_dag
from webui.ui.blueprint import bp
from webui.ui.session import current_user, page
from webui.ui.viewmodels.trigger_form import PREFIX, build_sections, conf_from_form


@dataclass(frozen=True)
class _TriggerForm:
    """The trigger form as typed, so that a refused form comes back as it was."""

    mode: str
    """``form`` (a field per param) or ``json`` (conf as typed)."""
    conf: str
    run_id: str
    logical_date: str
    fields: MultiDict[str, str] | None = None
    """The params' fields as sent (None: show the defaults)."""
    force: bool = False
    """Confirmed: trigger though the DAG's file does not import now."""


@bp.route("/dags/<dag_id>/trigger", methods=["GET", "POST"])
@page(Action.CREATE, Resource.DAG_RUNS)
def trigger(dag_id: str) -> str | Response | tuple[str, int]:
    dag = check_dag(dag_id)
    params = load_serialized_dag(session=db.session(), dag_id=dag_id).params
    if request.method == "GET":
        mode = "form" if params else "json"
        return _trigger_page(dag, params, _TriggerForm(mode, _default_conf(params), "", ""), {})
    form = _TriggerForm(
        _mode(request.form),
        request.form.get("conf", ""),
        request.form.get("run_id", "").strip(),
        request.form.get("logical_date", "").strip(),
        request.form.copy(),
        force=request.form.get("force") == "true",
    )
    errors: dict[str, str] = {}
    conf = _conf(form, errors) if form.mode == "json" else _form_conf(params, form, errors)
    run_id, logical_date = _run_id(form, errors), _date(form, errors)
    if errors:
        return _trigger_page(dag, params, form, errors), 400
    try:
        run = trigger_dag(
            session=db.session(),
            dag_id=dag_id,
            conf=conf,
            run_id=run_id,
            logical_date=logical_date,
            now=utcnow(),
            triggered_by=_username(),
            refuse_broken=not form.force,
        )
    except ParamsError as exc:
        return _trigger_page(dag, params, form, _param_errors(exc, form.mode)), 400
    except InvalidInputError as exc:
        return _trigger_page(dag, params, form, {"conf": str(exc)}), 400
    except ConflictError as exc:
        return _trigger_page(dag, params, form, {_conflict_field(dag): str(exc)}), 409
    db.commit()
    # The run page shows the run's state live; a note only says what the page cannot.
    if dag.is_paused:
        flash(f"Triggered {dag_id}: run {run.run_id} waits until {dag_id} is unpaused")
    return redirect(url_for("ui.run", dag_id=dag_id, run_id=run.run_id))


def _conflict_field(dag: Dag) -> str:
    """Where a refused trigger's reason goes: by the confirmation (the file does not
    import), else by the run id (taken)."""
    return "force" if broken_dag(session=db.session(), dag_id=dag.dag_id) else "run_id"


def _mode(sent: MultiDict[str, str]) -> str:
    """Which conf the user sent: the chosen one, else the form if any param field came."""
    chosen = sent.get("mode")
    if chosen in ("form", "json"):
        return chosen
    return "form" if any(key.startswith(PREFIX) for key in sent) else "json"


def _param_errors(exc: ParamsError, mode: str) -> dict[str, str]:
    """Each param's problems next to its field, and a summary above the form."""
    errors = {f"{PREFIX}{name}": "; ".join(found) for name, found in exc.by_param.items()}
    names = ", ".join(exc.by_param)
    where = "by its field" if mode == "form" else "by its param"
    errors["form" if mode == "form" else "conf"] = (
        f"conf does not fit the params {names}: each problem is shown {where}"
    )
    return errors


def _trigger_page(
    dag: Dag, params: dict[str, Param], form: _TriggerForm, errors: dict[str, str]
) -> str:
    return render_template(
        "ui/trigger.html",
        dag=dag,
        params=params,
        sections=build_sections(params, form.fields),
        form=form,
        errors=errors,
        broken_file=broken_dag(session=db.session(), dag_id=dag.dag_id),
    )


def _default_conf(params: dict[str, Param]) -> str:
    """The params' defaults as pretty JSON (required params have none to offer)."""
    defaults = {name: p.default for name, p in params.items() if not p.required}
    return json.dumps(defaults, indent=2, ensure_ascii=False, default=str)


def _form_conf(
    params: dict[str, Param], form: _TriggerForm, errors: dict[str, str]
) -> dict[str, Any] | None:
    assert form.fields is not None
    conf, problems = conf_from_form(params, form.fields)
    errors.update(problems)
    return conf


def _conf(form: _TriggerForm, errors: dict[str, str]) -> dict[str, Any] | None:
    text = form.conf.strip() or "{}"
    try:
        conf = loads_json(text, field="conf")
    except InvalidInputError as exc:
        errors["conf"] = str(exc)
        return None
    if not isinstance(conf, dict):
        errors["conf"] = f'conf must be a JSON object such as {{"key": "value"}}, not {text[:40]}'
        return None
    return conf


def _run_id(form: _TriggerForm, errors: dict[str, str]) -> str | None:
    if not form.run_id:
        return None
    try:
        RUN_ID(form.run_id)
    except ma.ValidationError as exc:
        errors["run_id"] = f"run id: {'; '.join(map(str, exc.messages))}"
        return None
    return form.run_id


def _date(form: _TriggerForm, errors: dict[str, str]) -> datetime | None:
    if not form.logical_date:
        return None
    try:
        parsed = datetime.fromisoformat(form.logical_date)
    except ValueError:
        errors["logical_date"] = (
            f"logical date: {form.logical_date!r} is not an ISO 8601 date and time "
            "such as 2026-01-05T00:00:00+00:00 (UTC when no offset is given)"
        )
        return None
    try:
        return checked_datetime(parsed, field="logical date")
    except InvalidInputError as exc:
        errors["logical_date"] = str(exc)
        return None


def _username() -> str | None:
    user = current_user()
    return user.username if user is not None else None
