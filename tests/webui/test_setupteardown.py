"""Setup and teardown in the API (trigger rule, edges) and the graph (a dashed edge)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from flask import Flask

from engine.parser import ParseOptions, refresh_dags
from tests.support.database import database_sessions
from tests.webui.conftest import app_for, bearer, login
from tests.webui.ui import page_as
from tests.webui.world import T0, build_world

pytestmark = pytest.mark.postgres

DAG_FILE = """
from datetime import datetime

from engine import DAG, EmptyOperator

with DAG("resource", schedule=None, start_date=datetime(2026, 1, 1)):
    create = EmptyOperator(task_id="create")
    delete = EmptyOperator(task_id="delete")
    with delete.as_teardown(setups=create, on_failure_fail_dagrun=True):
        EmptyOperator(task_id="use")
"""


@pytest.fixture
def app(postgres_url: str, tmp_path: Path) -> Flask:
    world = build_world(postgres_url, tmp_path / "dags")
    (world.dags_folder / "resource.py").write_text(textwrap.dedent(DAG_FILE))
    with database_sessions(postgres_url) as sessions, sessions.begin() as session:
        report = refresh_dags(
            session=session,
            options=ParseOptions(world.dags_folder, timeout=60, parallelism=1),
            now=T0,
        )
    assert not report.import_errors, report.import_errors
    return app_for(postgres_url, tmp_path, world.dags_folder)


def test_the_tasks_api_gives_the_teardowns_trigger_rule_and_edges(app: Flask) -> None:
    """Airflow 3's tasks have no setup/teardown flags (the UI's graph has): the rule and
    the edges are in the API, the flags in the graph below (docs/decisions.md)."""
    client = app.test_client()
    headers = bearer(login(client, "admin")["access_token"])
    reply = client.get("/api/v2/dags/resource/tasks", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    tasks = {t["task_id"]: t for t in reply.get_json()["tasks"]}
    assert tasks["delete"]["trigger_rule"] == "all_done_setup_success"
    assert tasks["use"]["trigger_rule"] == "all_success"
    assert sorted(tasks["create"]["downstream_task_ids"]) == ["delete", "use"]
    assert tasks["use"]["downstream_task_ids"] == ["delete"]


def test_the_graph_draws_the_setup_teardown_edge_dashed(app: Flask) -> None:
    client = app.test_client()
    page = page_as(client, "Admin", "/dags/resource/graph")
    assert 'class="edge setup-teardown" d=' in page
    assert page.count("setup-teardown") == 1
    assert 'data-edge="create-delete"' in page.split("setup-teardown")[1].split("/>")[0]
    assert 'class="edge" d=' in page  # create → use and use → delete are plain
    assert "EmptyOperator · teardown" in page
    assert "EmptyOperator · setup" in page
