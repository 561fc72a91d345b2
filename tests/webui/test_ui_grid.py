"""The grid's data and a cell's details as JSON (what static/grid.js draws), the page
that frames them, and who sees what: the DAG's scope, and actions only for editors."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.services.runs import trigger_dag
from tests.webui.ui import csrf_of, page_as, ui_sign_in
from tests.webui.world import T0
from webui import db
from webui.ui.viewmodels.gridjson import STATE_CODES

DATA = "/dags/example/grid/data"
CELL = "/dags/example/grid/cell"


def json_as(client: FlaskClient, role: str, path: str, status: int = 200, **query: str) -> Any:
    """Sign ``client`` in as ``role``'s user and read the JSON at ``path``."""
    ui_sign_in(client, role)
    return json_of(client, path, status, **query)


def json_of(client: FlaskClient, path: str, status: int = 200, **query: str) -> Any:
    reply = client.get(path, query_string=query)
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.mimetype == "application/json"
    return reply.get_json()


def cell_states(data: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Each (task id, run id) and its state, decoded from the flat cells."""
    width = len(data["runs"])
    return {
        (task[0], run[0]): data["states"][data["cells"][row * width + col]]
        for row, task in enumerate(data["tasks"])
        for col, run in enumerate(data["runs"])
    }


def test_the_page_is_a_small_frame_for_grid_js(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/dags/example", status=200)
    assert 'data-grid="/dags/example/grid/data?runs=25"' in page
    assert 'data-cell="/dags/example/grid/cell"' in page
    assert '<script src="/ui-static/grid.js" defer></script>' in page
    assert "<td" not in page  # no cells in HTML: grid.js draws them
    assert len(page.encode()) < 20_000
    # Without JavaScript: where to go instead.
    assert 'href="/dags/example/runs"' in page
    assert 'href="/dags/example/graph"' in page


def test_the_data_lists_runs_tasks_in_dag_order_and_states(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        trigger_dag(session=db.session(), dag_id="example", run_id="later", now=T0.replace(day=9))
        db.commit()
    data = json_as(client, "Admin", DATA)
    assert data["states"] == list(STATE_CODES)
    assert data["states"][0] == "missing"
    assert data["run_fields"] == [
        "run_id",
        "logical_date",
        "state",
        "start_date",
        "end_date",
        "href",
    ]
    assert [run[0] for run in data["runs"]] == ["manual__1", "later"]  # oldest first
    assert data["runs"][0][2] == "queued"
    assert data["runs"][0][5] == "/dags/example/runs/manual__1"
    assert data["task_fields"] == ["task_id", "label", "group", "kind", "depth"]
    assert data["tasks"] == [
        ["extract", "extract", None, "task", 0],
        ["load", "load", None, "task", 0],
    ]
    assert len(data["cells"]) == 2 * 2
    states = cell_states(data)
    assert states[("extract", "manual__1")] == "failed"
    assert states[("load", "manual__1")] == "none"
    assert states[("extract", "later")] == "none"
    assert data["tries"] == {}
    assert data["mapped"] == {}
    assert data["live"] is True  # runs are queued


def test_the_data_counts_tries_above_one(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        run = trigger_dag(session=db.session(), dag_id="example", run_id="retried", now=T0)
        next(ti for ti in run.task_instances if ti.task_id == "load").try_number = 3
        db.commit()
    data = json_as(client, "Admin", DATA)
    runs = [run[0] for run in data["runs"]]
    flat = 1 * len(runs) + runs.index("retried")  # load's row, the run's column
    assert data["tries"] == {str(flat): 3}


def test_runs_shown_and_bad_values(client: FlaskClient) -> None:
    assert len(json_as(client, "Admin", DATA, runs="1")["runs"]) == 1
    for bad in ("0", "101", "abc", "-3"):
        problem = json_of(client, DATA, status=422, runs=bad)
        assert "runs" in problem["errors"], problem
    page = client.get("/dags/example?runs=abc")
    assert page.status_code == 422
    assert "runs: must be a whole number from 1 to 100" in page.get_data(as_text=True)


def test_a_dag_outside_the_users_scope_is_not_found(client: FlaskClient) -> None:
    ui_sign_in(client, "etl")  # EtlViewer: DAGs tagged etl only
    assert client.get(DATA).status_code == 200
    for path in ("/dags/finance_report/grid/data", "/dags/finance_report/grid/cell"):
        reply = client.get(path, query_string={"task_id": "report", "run_id": "manual__1"})
        assert reply.status_code == 404
        assert reply.get_json()["message"] == "no DAG 'finance_report'"
    assert client.get("/dags/finance_report").status_code == 404


def test_signed_out_the_data_sends_to_the_login_page(client: FlaskClient) -> None:
    reply = client.get(DATA)
    assert reply.status_code == 302
    assert "/login" in reply.headers["Location"]


def test_a_cells_details_state_tries_log_and_links(client: FlaskClient) -> None:
    details = json_as(client, "Viewer", CELL, task_id="extract", run_id="manual__1")
    assert details["kind"] == "task"
    assert details["state"] == "failed"
    assert (details["try_number"], details["max_tries"]) == (1, 1)
    assert details["operator"] == "BashOperator"
    assert details["finished"] is True
    assert details["href"] == "/dags/example/runs/manual__1/tasks/extract"
    assert details["run_href"] == "/dags/example/runs/manual__1"
    assert details["log"]["lines"] == ["extracting 2", "failed"]
    assert details["log"]["try_number"] == 1
    assert details["actions"] == []  # a Viewer may not change anything


def test_an_editor_gets_the_actions_and_they_work(client: FlaskClient) -> None:
    details = json_as(client, "Op", CELL, task_id="extract", run_id="manual__1")
    labels = [action["label"] for action in details["actions"]]
    assert labels == [
        "Clear with downstream",
        "Clear only this task",
        "Mark success",
        "Mark failed",
    ]
    mark = details["actions"][2]
    assert mark["url"] == "/dags/example/task-mark/extract/manual__1"
    assert mark["confirm"] == "Mark extract success?"
    csrf = csrf_of(client.get("/dags/example").get_data(as_text=True))
    reply = client.post(mark["url"], data={**mark["fields"], "csrf_token": csrf})
    assert reply.status_code == 302
    assert cell_states(client.get(DATA).get_json())[("extract", "manual__1")] == "success"


def test_a_cells_details_refuse_bad_input(client: FlaskClient) -> None:
    missing = json_as(client, "Admin", CELL, status=422, run_id="manual__1")
    assert missing["errors"] == {"task_id": ["is required"]}
    unknown = json_of(client, CELL, status=404, task_id="extract", run_id="nope")
    assert "nope" in unknown["message"]
    absent = json_of(client, CELL, status=404, task_id="ghost", run_id="manual__1")
    assert "ghost" in absent["message"]


@pytest.mark.parametrize("role", ["Viewer", "etl"])
def test_readers_of_the_dag_get_the_data(client: FlaskClient, role: str) -> None:
    assert json_as(client, role, DATA)["tasks"][0][0] == "extract"
