"""Airflow's official client on /api/v2's DAG runs: list (one DAG and ``~``), batch list,
trigger, get, patch, clear, delete."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from airflow_client import client as airflow
from airflow_client.client.exceptions import ApiException
from airflow_client.client.models import DagRunState


def test_list_runs_of_a_dag_and_of_every_dag(admin: airflow.ApiClient) -> None:
    api = airflow.DagRunApi(admin)
    runs = api.get_dag_runs("example")
    assert runs.total_entries == 1
    run = runs.dag_runs[0]
    assert run.dag_run_id == "manual__1"
    assert run.conf == {"n": 2}
    every = api.get_dag_runs("~", order_by=["-dag_id"])
    assert [(r.dag_id, r.dag_run_id) for r in every.dag_runs] == [
        ("finance_report", "manual__1"),
        ("example", "manual__1"),
    ]


def test_list_runs_filters(admin: airflow.ApiClient) -> None:
    api = airflow.DagRunApi(admin)
    later = datetime(2030, 1, 1, tzinfo=UTC)
    assert api.get_dag_runs("~", logical_date_gte=later).total_entries == 0
    assert api.get_dag_runs("~", logical_date_lte=later).total_entries == 2
    assert api.get_dag_runs("~", state=["success"]).total_entries == 0


def test_batch_list(admin: airflow.ApiClient) -> None:
    body = airflow.DAGRunsBatchBody(dag_ids=["finance_report"], page_limit=10)
    runs = airflow.DagRunApi(admin).get_list_dag_runs_batch("~", body)
    assert [r.dag_id for r in runs.dag_runs] == ["finance_report"]


def test_scope_applies_to_every_dag_listing(
    client_as: Callable[[str], airflow.ApiClient],
) -> None:
    runs = airflow.DagRunApi(client_as("etl")).get_dag_runs("~")
    assert {r.dag_id for r in runs.dag_runs} == {"example"}


def test_trigger_with_run_id_conf_and_logical_date(admin: airflow.ApiClient) -> None:
    api = airflow.DagRunApi(admin)
    when = datetime(2026, 2, 1, tzinfo=UTC)
    body = airflow.TriggerDAGRunPostBody(dag_run_id="from_client", logical_date=when, conf={"n": 5})
    run = api.trigger_dag_run("example", body)
    assert run.dag_run_id == "from_client"
    assert run.state == DagRunState.QUEUED
    assert run.logical_date == when
    assert api.get_dag_run("example", "from_client").conf == {"n": 5}


def test_trigger_with_bad_conf_is_422(admin: airflow.ApiClient) -> None:
    body = airflow.TriggerDAGRunPostBody(logical_date=None, conf={"n": "not a number"})
    with pytest.raises(ApiException) as raised:
        airflow.DagRunApi(admin).trigger_dag_run("example", body)
    assert raised.value.status == 422


def test_viewer_may_not_trigger(client_as: Callable[[str], airflow.ApiClient]) -> None:
    body = airflow.TriggerDAGRunPostBody(logical_date=None)
    with pytest.raises(ApiException) as raised:
        airflow.DagRunApi(client_as("Viewer")).trigger_dag_run("example", body)
    assert raised.value.status == 403


def test_patch_state(admin: airflow.ApiClient) -> None:
    api = airflow.DagRunApi(admin)
    body = airflow.DAGRunPatchBody(state=airflow.DagRunMutableStates.SUCCESS)
    assert api.patch_dag_run("example", "manual__1", body).state == DagRunState.SUCCESS


def test_clear_dry_run_then_for_real(admin: airflow.ApiClient) -> None:
    api = airflow.DagRunApi(admin)
    tis = airflow.TaskInstanceApi(admin)
    # The client cannot read a dry run's list (its oneOf of TaskInstanceResponse and
    # NewTaskResponse matches both for every item, also against Airflow): read it raw.
    dry = api.clear_dag_run_without_preload_content(
        "example", "manual__1", airflow.DAGRunClearBody(only_failed=True)
    )
    listed = json.loads(dry.data)
    assert [ti["task_id"] for ti in listed["task_instances"]] == ["extract"]
    assert tis.get_task_instance("example", "manual__1", "extract").state == "failed"
    cleared = api.clear_dag_run("example", "manual__1", airflow.DAGRunClearBody(dry_run=False))
    assert cleared.actual_instance.dag_run_id == "manual__1"
    assert tis.get_task_instance("example", "manual__1", "extract").state is None
    assert api.get_dag_run("example", "manual__1").state == DagRunState.QUEUED


def test_delete_run(admin: airflow.ApiClient) -> None:
    api = airflow.DagRunApi(admin)
    api.delete_dag_run("finance_report", "manual__1")
    assert api.get_dag_runs("finance_report").total_entries == 0
