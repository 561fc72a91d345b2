"""Airflow's official client on /api/v2's task instances: list (per run and ``~``), get,
mapped, patch, clear, tries, logs per try with a continuation token, XCom entries."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from airflow_client import client as airflow
from airflow_client.client.exceptions import ApiException
from airflow_client.client.models import TaskInstanceState

RUN = ("example", "manual__1")


def test_list_per_run_and_across_runs(admin: airflow.ApiClient) -> None:
    api = airflow.TaskInstanceApi(admin)
    tis = api.get_task_instances(*RUN)
    assert [(ti.task_id, ti.state) for ti in tis.task_instances] == [
        ("extract", TaskInstanceState.FAILED),
        ("load", None),
    ]
    every = api.get_task_instances("~", "~", order_by=["task_id"])
    assert every.total_entries == 3
    failed = api.get_task_instances("~", "~", state=["failed"])
    assert [ti.task_id for ti in failed.task_instances] == ["extract"]


def test_get_and_mapped_paths(admin: airflow.ApiClient) -> None:
    api = airflow.TaskInstanceApi(admin)
    ti = api.get_task_instance(*RUN, "extract")
    assert ti.try_number == 1
    assert ti.dag_run_id == "manual__1"
    assert api.get_mapped_task_instance(*RUN, "extract", -1).task_id == "extract"
    mapped = api.get_mapped_task_instances(*RUN, "extract")
    assert [m.map_index for m in mapped.task_instances] == [-1]


def test_patch_state(
    admin: airflow.ApiClient, client_as: Callable[[str], airflow.ApiClient]
) -> None:
    body = airflow.PatchTaskInstanceBody(new_state=TaskInstanceState.SUCCESS)
    patched = airflow.TaskInstanceApi(admin).patch_task_instance(*RUN, "extract", body)
    assert [ti.state for ti in patched.task_instances] == [TaskInstanceState.SUCCESS]
    with pytest.raises(ApiException) as raised:
        airflow.TaskInstanceApi(client_as("Viewer")).patch_task_instance(*RUN, "extract", body)
    assert raised.value.status == 403


def test_clear_task_instances(admin: airflow.ApiClient) -> None:
    api = airflow.TaskInstanceApi(admin)
    body = airflow.ClearTaskInstancesBody(dag_run_id="manual__1", dry_run=False)
    # The client cannot read the list (its oneOf matches every item twice): read it raw.
    response = api.post_clear_task_instances_without_preload_content("example", body)
    assert [ti["task_id"] for ti in json.loads(response.data)["task_instances"]] == ["extract"]
    assert api.get_task_instance(*RUN, "extract").state is None


def test_tries_and_log_with_continuation(admin: airflow.ApiClient) -> None:
    api = airflow.TaskInstanceApi(admin)
    tries = api.get_task_instance_tries(*RUN, "extract")
    assert [(t.try_number, t.state) for t in tries.task_instances] == [
        (1, TaskInstanceState.FAILED)
    ]
    assert api.get_task_instance_try_details(*RUN, "extract", 1).try_number == 1
    log = api.get_log(*RUN, "extract", 1)
    lines = [message.event for message in log.content.actual_instance]
    assert lines == ["extracting 2", "failed"]
    more = api.get_log(*RUN, "extract", 1, token=log.continuation_token)
    assert more.content.actual_instance == []
    whole = api.get_log(*RUN, "extract", 1, token=log.continuation_token, full_content=True)
    assert len(whole.content.actual_instance) == 2


def test_xcom_entries(admin: airflow.ApiClient) -> None:
    api = airflow.XComApi(admin)
    entries = api.get_xcom_entries(*RUN, "extract")
    assert [e.key for e in entries.xcom_entries] == ["rows"]
    entry = api.get_xcom_entry("example", "extract", "manual__1", "rows")
    assert entry.actual_instance.value == {"count": 3}


def test_logs_need_their_permission(client_as: Callable[[str], airflow.ApiClient]) -> None:
    api = airflow.TaskInstanceApi(client_as("etl"))
    with pytest.raises(ApiException) as raised:
        api.get_log("finance_report", "manual__1", "report", 1)
    assert raised.value.status in (403, 404)
