"""A DAG whose file no longer imports: a trigger answers 409 naming the import error
unless forced (query parameter, or body field as Airflow's client sends it as an
additional property), through the Flask test client and Airflow's official client; the
DAG's page shows the error, the trigger form warns and asks to confirm, and the run's
page and its task's page say why the tasks wait."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from airflow_client import client as airflow
from airflow_client.client.exceptions import ApiException
from flask import Flask
from flask.testing import FlaskClient

from engine.models import DagRun
from engine.parser import ParseOptions, refresh_dags
from engine.state import DagRunState, TaskInstanceState
from tests.support.database import database_sessions
from tests.webui.api_v2.conftest import app_with_dag_file
from tests.webui.ui import csrf_of, page_as
from tests.webui.world import T0

GOOD = """
from datetime import datetime
from engine import DAG, EmptyOperator

with DAG("fragile", schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="only")
"""

BROKEN = GOOD + "import module_that_is_not_there\n"
FIRST_LINE = "ModuleNotFoundError: No module named 'module_that_is_not_there'"


@pytest.fixture
def app(template: Path, tmp_path: Path) -> Flask:
    """The world with ``fragile``, whose file then stops importing."""
    app = app_with_dag_file(template, tmp_path, "fragile.py", GOOD)
    settings = app.extensions["loom.settings"]
    (settings.core.dags_folder / "fragile.py").write_text(BROKEN)
    with database_sessions(settings.database.url) as sessions, sessions.begin() as session:
        report = refresh_dags(
            session=session,
            options=ParseOptions(settings.core.dags_folder, timeout=60, parallelism=1),
            now=T0 + timedelta(hours=1),
        )
    assert report.import_errors
    return app


URL = "/api/v2/dags/fragile/dagRuns"


def test_flask_trigger_is_refused_unless_forced(
    client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    admin = as_role("Admin")
    refused = client.post(URL, json={"dag_run_id": "r1"}, headers=admin)
    assert refused.status_code == 409
    detail = str(refused.json)
    assert "DAG file does not import" in detail
    assert FIRST_LINE in detail
    assert client.get(f"{URL}/r1", headers=admin).status_code == 404
    by_query = client.post(f"{URL}?force=true", json={"dag_run_id": "r1"}, headers=admin)
    assert by_query.status_code == 200, by_query.json
    by_body = client.post(URL, json={"dag_run_id": "r2", "force": True}, headers=admin)
    assert by_body.status_code == 200, by_body.json
    bad = client.post(URL, json={"dag_run_id": "r3", "force": "maybe"}, headers=admin)
    assert bad.status_code == 422
    assert "force" in str(bad.json)


def test_has_import_errors_is_true_only_for_the_broken_dag(admin: airflow.ApiClient) -> None:
    dags = airflow.DAGApi(admin)
    assert dags.get_dag("fragile").has_import_errors is True
    assert dags.get_dag("example").has_import_errors is False
    listed = {dag.dag_id: dag.has_import_errors for dag in dags.get_dags().dags}
    assert listed["fragile"] is True
    assert listed["example"] is False


def test_airflow_client_trigger_is_refused_unless_forced(admin: airflow.ApiClient) -> None:
    api = airflow.DagRunApi(admin)
    with pytest.raises(ApiException) as refused:
        api.trigger_dag_run(
            "fragile", airflow.TriggerDAGRunPostBody(dag_run_id="c1", logical_date=None)
        )
    assert refused.value.status == 409
    assert FIRST_LINE in str(refused.value.body)
    forced = airflow.TriggerDAGRunPostBody.from_dict(
        {"dag_run_id": "c1", "logical_date": None, "force": True}
    )
    assert forced is not None
    run = api.trigger_dag_run("fragile", forced)
    assert run.dag_run_id == "c1"


def test_the_dag_page_shows_the_import_error(client: FlaskClient) -> None:
    page = page_as(client, "Viewer", "/dags/fragile")
    assert "dag-import-error" in page
    assert "DAG file does not import: " in page
    assert "module_that_is_not_there" in page
    healthy = client.get("/dags/example").get_data(as_text=True)
    assert "dag-import-error" not in healthy


def test_the_trigger_form_warns_and_requires_confirming(client: FlaskClient) -> None:
    form = page_as(client, "Op", "/dags/fragile/trigger")
    assert 'id="broken-warning"' in form
    assert 'name="force"' in form
    sent = {"csrf_token": csrf_of(form), "mode": "json", "conf": "{}", "run_id": "ui1"}
    refused = client.post("/dags/fragile/trigger", data=sent)
    assert refused.status_code == 409
    assert 'id="force-error"' in refused.get_data(as_text=True)
    confirmed = client.post("/dags/fragile/trigger", data={**sent, "force": "true"})
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"].endswith("/dags/fragile/runs/ui1")
    healthy = client.get("/dags/example/trigger").get_data(as_text=True)
    assert 'name="force"' not in healthy


def test_the_run_and_task_pages_say_why_the_tasks_wait(
    app: Flask, client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    forced = client.post(f"{URL}?force=true", json={"dag_run_id": "w"}, headers=as_role("Op"))
    assert forced.status_code == 200
    url = app.extensions["loom.settings"].database.url
    with database_sessions(url) as sessions, sessions.begin() as session:
        run = session.query(DagRun).filter_by(dag_id="fragile", run_id="w").one()
        run.state = DagRunState.RUNNING
        for ti in run.task_instances:
            ti.state = TaskInstanceState.SCHEDULED
    run_page = page_as(client, "Viewer", "/dags/fragile/runs/w")
    assert "tasks wait: DAG file does not import: " in run_page
    ti_page = client.get("/dags/fragile/runs/w/tasks/only").get_data(as_text=True)
    assert "not queued: DAG file does not import: " in ti_page
