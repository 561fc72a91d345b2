"""Airflow's official client (apache-airflow-client 3) on /api/v2: login, version,
health, DAGs, tasks and sources, against a real HTTP server."""

from __future__ import annotations

from collections.abc import Callable
from urllib.error import HTTPError

import pytest
from airflow_client import client as airflow
from airflow_client.client.exceptions import ApiException, NotFoundException
from flask import Flask

from engine.timeutil import utcnow
from engine.triggering.claims import record_triggerer_heartbeat
from tests.support.database import database_sessions
from tests.webui.api_v2.conftest import token_for


def test_token_is_a_bearer_for_api_v2(base_url: str) -> None:
    config = airflow.Configuration(host=base_url, access_token=token_for(base_url, "viewer"))
    api = airflow.ApiClient(config)
    dags = airflow.DAGApi(api).get_dags()
    api.rest_client.pool_manager.clear()
    assert dags.total_entries == 2


def test_wrong_password_is_refused(base_url: str) -> None:
    with pytest.raises(HTTPError) as raised:
        token_for(base_url, "viewer", "wrong-password")
    assert raised.value.code == 401
    raised.value.close()


def test_no_token_is_401_with_detail(base_url: str) -> None:
    api = airflow.ApiClient(airflow.Configuration(host=base_url))
    with pytest.raises(ApiException) as raised:
        airflow.DAGApi(api).get_dags()
    api.rest_client.pool_manager.clear()
    assert raised.value.status == 401
    assert "detail" in (raised.value.body or "")


def test_version_and_health(admin: airflow.ApiClient) -> None:
    assert airflow.VersionApi(admin).get_version().version
    health = airflow.MonitorApi(admin).get_health()
    assert health.metadatabase.status == "healthy"
    assert health.triggerer.status is None  # no triggerer ever ran, as Airflow reports it


def test_health_reports_the_triggerers_heartbeat(app: Flask, admin: airflow.ApiClient) -> None:
    url = app.extensions["loom.settings"].database.url
    now = utcnow()
    with database_sessions(url) as sessions, sessions.begin() as session:
        record_triggerer_heartbeat(
            session=session, triggerer_id="t1", now=now, capacity=10, running=0
        )
    triggerer = airflow.MonitorApi(admin).get_health().triggerer
    assert (triggerer.status, triggerer.latest_triggerer_heartbeat) == ("healthy", now.isoformat())


def test_list_dags_with_tags_as_objects(admin: airflow.ApiClient) -> None:
    dags = airflow.DAGApi(admin).get_dags(order_by=["-dag_id"])
    assert [dag.dag_id for dag in dags.dags] == ["finance_report", "example"]
    example = dags.dags[1]
    assert [(tag.name, tag.dag_id) for tag in example.tags] == [("etl", "example")]
    assert example.is_paused is False
    assert example.is_stale is False


def test_list_dags_filters(admin: airflow.ApiClient) -> None:
    api = airflow.DAGApi(admin)
    assert [d.dag_id for d in api.get_dags(tags=["finance"]).dags] == ["finance_report"]
    assert [d.dag_id for d in api.get_dags(dag_id_pattern="%exam%").dags] == ["example"]
    page = api.get_dags(limit=1, offset=1)
    assert page.total_entries == 2
    assert [d.dag_id for d in page.dags] == ["finance_report"]
    assert api.get_dags(paused=True).total_entries == 0


def test_scope_limits_what_a_role_sees(client_as: Callable[[str], airflow.ApiClient]) -> None:
    api = airflow.DAGApi(client_as("etl"))
    assert [d.dag_id for d in api.get_dags().dags] == ["example"]
    with pytest.raises(ApiException) as raised:
        api.get_dag("finance_report")
    assert raised.value.status in (403, 404)


def test_get_dag_and_details(admin: airflow.ApiClient) -> None:
    api = airflow.DAGApi(admin)
    assert api.get_dag("example").dag_display_name == "example"
    details = api.get_dag_details("example")
    assert details.params is not None
    assert "n" in details.params
    assert details.description == "An ETL example"
    with pytest.raises(NotFoundException):
        api.get_dag("nope")


def test_pause_with_update_mask_then_viewer_may_not(
    admin: airflow.ApiClient, client_as: Callable[[str], airflow.ApiClient]
) -> None:
    api = airflow.DAGApi(admin)
    patched = api.patch_dag(
        "example", airflow.DAGPatchBody(is_paused=True), update_mask=["is_paused"]
    )
    assert patched.is_paused is True
    assert api.get_dag("example").is_paused is True
    with pytest.raises(ApiException) as raised:
        airflow.DAGApi(client_as("Viewer")).patch_dag(
            "example", airflow.DAGPatchBody(is_paused=False)
        )
    assert raised.value.status == 403


def test_delete_dag(admin: airflow.ApiClient) -> None:
    api = airflow.DAGApi(admin)
    api.delete_dag("finance_report")
    assert [d.dag_id for d in api.get_dags().dags] == ["example"]


def test_tasks_and_source(admin: airflow.ApiClient) -> None:
    tasks = airflow.TaskApi(admin).get_tasks("example")
    assert [t.task_id for t in tasks.tasks] == ["extract", "load"]
    assert tasks.tasks[0].downstream_task_ids == ["load"]
    assert airflow.TaskApi(admin).get_task("example", "load").task_display_name == "Load rows"
    source = airflow.DagSourceApi(admin).get_dag_source("example")
    assert "BashOperator" in (source.content or "")
