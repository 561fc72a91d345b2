"""Airflow's official client on /api/v2's variables, connections, pools, import errors and
event logs (Loom's audit log)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from airflow_client import client as airflow
from airflow_client.client.exceptions import ApiException


def test_variables(admin: airflow.ApiClient) -> None:
    api = airflow.VariableApi(admin)
    listed = {v.key: v.value for v in api.get_variables().variables}
    assert listed == {"api_token": "***", "region": "eu-west-1"}
    created = api.post_variable(airflow.VariableBody(key="limits", value={"rows": 10}))
    assert created.value == '{"rows": 10}'
    api.patch_variable(
        "region", airflow.VariableBody(key="region", value="us-east-1"), update_mask=["value"]
    )
    assert api.get_variable("region").value == "us-east-1"
    api.delete_variable("limits")
    assert api.get_variables().total_entries == 2


def test_variables_are_for_op_and_admin(client_as: Callable[[str], airflow.ApiClient]) -> None:
    with pytest.raises(ApiException) as raised:
        airflow.VariableApi(client_as("Viewer")).get_variables()
    assert raised.value.status == 403


def test_connections(admin: airflow.ApiClient) -> None:
    api = airflow.ConnectionApi(admin)
    warehouse = api.get_connection("warehouse")
    assert (warehouse.conn_type, warehouse.host, warehouse.password) == ("postgresql", "db", "***")
    body = airflow.ConnectionBody(connection_id="api", conn_type="http", host="example.com")
    api.post_connection(body)
    body.host = "example.org"
    body.login = "ignored"
    api.patch_connection("api", body, update_mask=["host"])
    changed = api.get_connection("api")
    assert (changed.host, changed.login) == ("example.org", None)
    assert [c.connection_id for c in api.get_connections().connections] == ["api", "warehouse"]
    api.delete_connection("api")
    assert api.get_connections().total_entries == 1


def test_connection_testing_is_off_unless_configured(admin: airflow.ApiClient) -> None:
    body = airflow.ConnectionBody(connection_id="db", conn_type="sqlite", host="/nowhere.db")
    with pytest.raises(ApiException) as raised:
        airflow.ConnectionApi(admin).test_connection(body)
    assert raised.value.status == 403
    assert "core.test_connection is Disabled" in str(raised.value.body)


def test_pools(admin: airflow.ApiClient) -> None:
    api = airflow.PoolApi(admin)
    assert {p.name for p in api.get_pools().pools} == {"default_pool", "etl"}
    api.post_pool(airflow.PoolBody(name="small", slots=2))
    patched = api.patch_pool("small", airflow.PoolPatchBody(slots=5), update_mask=["slots"])
    assert (patched.slots, patched.open_slots) == (5, 5)
    api.delete_pool("small")
    with pytest.raises(ApiException) as raised:
        api.get_pool("small")
    assert raised.value.status == 404


def test_import_errors(admin: airflow.ApiClient) -> None:
    errors = airflow.ImportErrorApi(admin).get_import_errors()
    assert [e.filename for e in errors.import_errors] == ["/dags/broken.py"]
    one = airflow.ImportErrorApi(admin).get_import_error(errors.import_errors[0].import_error_id)
    assert "SyntaxError" in one.stack_trace


def test_event_logs_are_the_audit_log(admin: airflow.ApiClient) -> None:
    airflow.DAGApi(admin).patch_dag("example", airflow.DAGPatchBody(is_paused=True))
    logs = airflow.EventLogApi(admin).get_event_logs(dag_id="example")
    assert logs.total_entries >= 1
    latest = logs.event_logs[0]
    assert (latest.owner, latest.dag_id) == ("admin", "example")
    assert airflow.EventLogApi(admin).get_event_log(latest.event_log_id).event == latest.event
