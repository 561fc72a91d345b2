"""Between DAGs in the API and the UI: clearing through an ExternalTaskMarker clears the
other DAG's task too, unless it lies outside the user's DAG scope (409, nothing cleared);
a triggered run and the task that triggered it link to each other, a sensor to the DAG
it watches, never to a DAG outside the user's scope."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.models import DagRun
from engine.security.roles import OP, create_role
from engine.security.users import create_user
from engine.services.runs import trigger_dag
from engine.state import TI
from tests.webui.conftest import app_for, bearer, login
from tests.webui.ui import ui_sign_in
from tests.webui.world import PASSWORD, T0, build_world
from webui import db

MARKED = {
    "parent": """
        with DAG("parent", schedule=None, start_date=datetime(2026, 1, 1), tags=["etl"]):
            EmptyOperator(task_id="p") >> ExternalTaskMarker(
                task_id="m", external_dag_id="child", external_task_id="c"
            )
    """,
    "child": """
        with DAG("child", schedule=None, start_date=datetime(2026, 1, 1), tags=["finance"]):
            EmptyOperator(task_id="c")
    """,
}
LINKED = {
    "parent": """
        with DAG("parent", schedule=None, start_date=datetime(2026, 1, 1), tags=["etl"]):
            TriggerDagRunOperator(task_id="t", trigger_dag_id="child")
    """,
    "child": """
        with DAG("child", schedule=None, start_date=datetime(2026, 1, 1), tags=["finance"]):
            ExternalTaskSensor(task_id="c", external_dag_id="parent", external_task_id="t")
    """,
}
HEADER = (
    "from datetime import datetime\n"
    "from engine import DAG, EmptyOperator, ExternalTaskMarker, ExternalTaskSensor, "
    "TriggerDagRunOperator\n"
)
DAGS = ("parent", "child")
ARROW = "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}"


def _app(tmp_path: Path, dags: dict[str, str]) -> Flask:
    """Both DAGs with a run ``r`` at T0, every task succeeded; the child's run records the
    parent's task ``t`` as what triggered it; an ``etlop`` user sees ``etl`` DAGs only."""
    folder = tmp_path / "dags"
    folder.mkdir()
    for name, body in dags.items():
        (folder / f"{name}.py").write_text(HEADER + textwrap.dedent(body))
    url = f"sqlite:///{tmp_path / 'loom.db'}"
    build_world(url, folder)
    app = app_for(url, tmp_path, folder)
    with app.app_context():
        session = db.session()
        create_role(
            session=session,
            name="EtlOp",
            permissions=[(a.value, r.value) for a, r in OP],
            dag_tags=["etl"],
        )
        create_user(session=session, username="etlop", password=PASSWORD, role_names=["EtlOp"])
        for dag_id in DAGS:
            run = trigger_dag(
                session=session, dag_id=dag_id, run_id="r", logical_date=T0, now=T0,
                triggered_by="parent.r.t" if dag_id == "child" else "admin",
            )  # fmt: skip
            for ti in run.task_instances:
                ti.state = TI.SUCCESS
        db.commit()
    return app


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return _app(tmp_path, MARKED)


@pytest.fixture
def linked(tmp_path: Path) -> Flask:
    return _app(tmp_path, LINKED)


def _states(app: Flask) -> dict[str, str]:
    with app.app_context():
        runs = db.session().query(DagRun).filter(DagRun.dag_id.in_(DAGS)).all()
        return {f"{r.dag_id}.{ti.task_id}": ti.state.value for r in runs for ti in r.task_instances}


def _api_clear(app: Flask, username: str) -> tuple[int, dict]:
    client = app.test_client()
    token = login(client, username)["access_token"]
    response = client.post(
        "/api/v2/dags/parent/clearTaskInstances",
        json={
            "dag_run_id": "r",
            "task_ids": ["p"],
            "include_downstream": True,
            "only_failed": False,
            "dry_run": False,
        },
        headers=bearer(token),
    )
    return response.status_code, response.get_json()


def test_the_api_clear_reaches_the_marked_task_of_the_other_dag(app: Flask) -> None:
    status, body = _api_clear(app, "admin")
    assert status == 200, body
    cleared = sorted(f"{ti['dag_id']}.{ti['task_id']}" for ti in body["task_instances"])
    assert cleared == ["child.c", "parent.m", "parent.p"]
    assert _states(app)["child.c"] == "none"


def test_a_clear_that_reaches_outside_the_users_scope_changes_nothing(app: Flask) -> None:
    status, body = _api_clear(app, "etlop")
    assert status == 409
    assert "may not change" in str(body)
    assert "child" not in str(body)  # a DAG outside the scope is not named
    assert set(_states(app).values()) == {"success"}


def test_the_ui_clear_names_the_other_dags_tasks(app: Flask) -> None:
    client: FlaskClient = app.test_client()
    csrf = ui_sign_in(client, "Admin")
    response = client.post(
        "/dags/parent/task-clear/p/r",
        data={"downstream": "true", "csrf_token": csrf},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "cleared 3 task(s) to run again: child.c, m, p" in response.get_data(as_text=True)


def _page(app: Flask, role: str, path: str) -> str:
    client = app.test_client()
    ui_sign_in(client, role)
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_a_triggered_run_and_its_trigger_link_to_each_other(linked: Flask) -> None:
    trigger_page = _page(linked, "Admin", "/dags/parent/runs/r/tasks/t")
    assert f'Triggered run: <a href="/dags/child/runs/r">child {ARROW} r</a>' in trigger_page
    run_page = _page(linked, "Admin", "/dags/child/runs/r")
    assert f'<a href="/dags/parent/runs/r/tasks/t">parent {ARROW} r {ARROW} t</a>' in run_page
    sensor_page = _page(linked, "Admin", "/dags/child/runs/r/tasks/c")
    assert 'External DAG: <a href="/dags/parent">parent</a>' in sensor_page


def test_links_never_show_a_dag_outside_the_users_scope(linked: Flask) -> None:
    page = _page(linked, "etlop", "/dags/parent/runs/r/tasks/t")
    assert "Triggered run" not in page
    assert "/dags/child" not in page
