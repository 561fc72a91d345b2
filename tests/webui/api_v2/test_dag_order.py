"""Tasks and task instances are listed in DAG order by default (upstream first, ties in
the file's order), through the Flask test client and Airflow's official client; an
``order_by`` still orders by its column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow_client import client as airflow
from flask import Flask
from flask.testing import FlaskClient

from tests.support.dagfiles import ORDERED
from tests.support.dagfiles import ORDERED_DAG_ORDER as DAG_ORDER
from tests.webui.api_v2.conftest import app_with_dag_file


@pytest.fixture
def app(template: Path, tmp_path: Path) -> Flask:
    return app_with_dag_file(template, tmp_path, "ordered.py", ORDERED)


def get(client: FlaskClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.get_json()
    return body


def trigger(client: FlaskClient, headers: dict[str, str], run_id: str) -> None:
    response = client.post(
        "/api/v2/dags/ordered/dagRuns", json={"dag_run_id": run_id}, headers=headers
    )
    assert response.status_code == 200, response.json


def test_flask_lists_tasks_and_instances_in_dag_order(
    client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    admin = as_role("Admin")
    tasks = get(client, "/api/v2/dags/ordered/tasks", admin)["tasks"]
    assert [t["task_id"] for t in tasks] == DAG_ORDER
    trigger(client, admin, "r1")
    trigger(client, admin, "r2")
    url = "/api/v2/dags/ordered/dagRuns/r1/taskInstances"
    tis = get(client, url, admin)["task_instances"]
    assert [ti["task_id"] for ti in tis] == DAG_ORDER
    paged = get(client, f"{url}?limit=2&offset=1", admin)
    assert [ti["task_id"] for ti in paged["task_instances"]] == DAG_ORDER[1:3]
    assert paged["total_entries"] == 4
    every_run = get(client, "/api/v2/dags/ordered/dagRuns/~/taskInstances", admin)
    listed = [(ti["dag_run_id"], ti["task_id"]) for ti in every_run["task_instances"]]
    assert listed == [("r1", t) for t in DAG_ORDER] + [("r2", t) for t in DAG_ORDER]
    by_id = get(client, f"{url}?order_by=task_id", admin)["task_instances"]
    assert [ti["task_id"] for ti in by_id] == sorted(DAG_ORDER)


def test_airflow_client_lists_in_dag_order(
    admin: airflow.ApiClient, client_as: Callable[[str], airflow.ApiClient]
) -> None:
    tasks = airflow.TaskApi(admin).get_tasks("ordered")
    assert [t.task_id for t in tasks.tasks or []] == DAG_ORDER
    airflow.DagRunApi(admin).trigger_dag_run(
        "ordered", airflow.TriggerDAGRunPostBody(dag_run_id="r1", logical_date=None)
    )
    tis = airflow.TaskInstanceApi(client_as("Viewer")).get_task_instances("ordered", "r1")
    assert [ti.task_id for ti in tis.task_instances] == DAG_ORDER
