"""A DAG file using SQL and HTTP operators and sensors runs under ``loom dags test``, with
its connections from ``LOOM_CONN_<ID>`` or from the database (``loom connections add``)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from engine import DbApiHook
from engine.models import migrate
from tests.engine.hooks.conftest import WAREHOUSE
from tests.support.cli import ok
from tests.support.httpservice import Service

DAG_FILE = """
from datetime import datetime

from engine import DAG, HttpOperator, HttpSensor, SQLExecuteQueryOperator, SqlSensor

with DAG("warehouse_report", schedule=None, start_date=datetime(2026, 1, 1)):
    load = SQLExecuteQueryOperator(
        task_id="load", conn_id="warehouse", sql="load.sql", split_statements=True
    )
    rows = SqlSensor(
        task_id="rows", conn_id="warehouse", sql="SELECT count(*) FROM sales", poke_interval=0
    )
    report = SQLExecuteQueryOperator(
        task_id="report",
        conn_id="warehouse",
        sql="SELECT region, sum(amount) FROM sales GROUP BY region ORDER BY region",
    )
    api_up = HttpSensor(task_id="api_up", http_conn_id="api", endpoint="health", poke_interval=0)
    post = HttpOperator(
        task_id="post",
        http_conn_id="api",
        endpoint="reports/{{ ds }}",
        method="PUT",
        data="{{ ti.xcom_pull(task_ids='report') | tojson }}",
        headers={"Content-Type": "application/json"},
        response_filter=lambda response: response.json()["id"],
    )
    load >> rows >> report >> api_up >> post
"""

LOAD_SQL = """
CREATE TABLE sales (region VARCHAR(10), amount INTEGER);
INSERT INTO sales VALUES ('eu', 5);
INSERT INTO sales VALUES ('us', 7);
INSERT INTO sales VALUES ('{{ params.get("region", "eu") }}', 1);
"""


@pytest.fixture
def dags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "report.py").write_text(textwrap.dedent(DAG_FILE))
    (folder / "load.sql").write_text(LOAD_SQL)
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(folder))
    return folder


def api_connection(service: Service) -> str:
    return json.dumps({"conn_type": "http", "host": service.url})


def run_and_check(service: Service) -> None:
    service.routes["/health"] = (200, "ok")
    service.routes["/reports/2026-02-03"] = (201, '{"id": "r-1"}')
    output = ok("dags", "test", "warehouse_report", "--logical-date", "2026-02-03", "-o", "json")
    report = json.loads(output)
    assert report["state"] == "success", report
    assert [r.body for r in service.received if r.method == "PUT"] == ['[["eu", 6], ["us", 7]]']
    assert DbApiHook("warehouse").get_first("SELECT count(*) FROM sales") == (3,)


def test_connections_from_the_environment(
    warehouse: str, service: Service, dags: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOM_CONN_API", api_connection(service))
    run_and_check(service)


def test_connections_from_the_database(
    warehouse: str,
    service: Service,
    dags: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("LOOM__DATABASE__URL", sqlite_url)
    monkeypatch.setenv("LOOM__CORE__FERNET_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv(WAREHOUSE)
    form = "--conn-json" if warehouse.startswith("{") else "--conn-uri"
    ok("connections", "add", "warehouse", form, warehouse)
    ok("connections", "add", "api", "--conn-json", api_connection(service))
    run_and_check(service)
    ok("dags", "reparse")  # the parser serializes the operators for the UI and API
    shown = json.loads(ok("dags", "show", "warehouse_report", "-o", "json"))
    assert [t["operator"] for t in shown["tasks"]] == [
        "SQLExecuteQueryOperator",
        "SqlSensor",
        "SQLExecuteQueryOperator",
        "HttpSensor",
        "HttpOperator",
    ]
