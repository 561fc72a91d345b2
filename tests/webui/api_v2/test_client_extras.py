"""Airflow's official client on /api/v2's notes, DAG stats, DAG warnings and bulk
operations (variables, connections, pools, DAGs), against a real HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from airflow_client import client as airflow
from airflow_client.client.exceptions import ApiException
from werkzeug.serving import make_server

from engine.security.roles import create_role
from engine.security.users import create_user
from tests.support.database import database_sessions
from tests.webui.api_v2.conftest import app_with_dag_file, token_for
from tests.webui.world import PASSWORD

POOLED = """
from datetime import datetime
from engine import DAG, BashOperator

with DAG("pooled", schedule=None, start_date=datetime(2026, 1, 1), tags=["etl"]) as dag:
    BashOperator(task_id="a", bash_command="echo a", pool="gpu")
    BashOperator(task_id="b", bash_command="echo b", pool="etl")
"""


def _error(raised: pytest.ExceptionInfo[ApiException]) -> str:
    return str(json.loads(raised.value.body or "{}")["detail"])


def _raw(api: airflow.ApiClient, method: str, path: str, body: object) -> tuple[int, str]:
    """Send ``body`` as is (the client's models would refuse it first): status and text."""
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {api.configuration.access_token}",
    }
    response = api.call_api(method, api.configuration.host + path, headers, body)
    response.read()  # type: ignore[no-untyped-call]  # untyped in the client
    return response.status, bytes(response.data or b"").decode()


def _events(admin: airflow.ApiClient, event: str) -> list[airflow.EventLogResponse]:
    return airflow.EventLogApi(admin).get_event_logs(event=event).event_logs


# -- notes ------------------------------------------------------------------------------------


def test_a_run_note_is_stored_returned_and_audited(admin: airflow.ApiClient) -> None:
    api = airflow.DagRunApi(admin)
    patched = api.patch_dag_run("example", "manual__1", airflow.DAGRunPatchBody(note="looked"))
    assert patched.note == "looked"
    assert api.get_dag_run("example", "manual__1").note == "looked"
    assert [r.note for r in api.get_dag_runs("example").dag_runs] == ["looked"]
    assert [e.owner for e in _events(admin, "dag_runs.patch_run")] == ["admin"]


def test_update_mask_limits_what_changes(admin: airflow.ApiClient) -> None:
    api = airflow.DagRunApi(admin)
    api.patch_dag_run("example", "manual__1", airflow.DAGRunPatchBody(note="first"))
    body = airflow.DAGRunPatchBody(state=airflow.DagRunMutableStates.FAILED, note="second")
    run = api.patch_dag_run("example", "manual__1", body, update_mask=["note"])
    assert (run.note, run.state) == ("second", "queued")
    cleared = api.patch_dag_run(
        "example", "manual__1", airflow.DAGRunPatchBody(note=None), update_mask=["note"]
    )
    assert cleared.note is None


def test_a_trigger_keeps_its_note(admin: airflow.ApiClient) -> None:
    body = airflow.TriggerDAGRunPostBody(logical_date=None, dag_run_id="noted", note="by hand")
    assert airflow.DagRunApi(admin).trigger_dag_run("example", body).note == "by hand"


def test_a_note_too_long_or_with_nul_is_a_422_naming_it(
    base_url: str, admin: airflow.ApiClient
) -> None:
    api = airflow.DagRunApi(admin)
    url = "/api/v2/dags/example/dagRuns/manual__1"
    for note in ("x" * 1001, "a\x00b"):
        status, text = _raw(admin, "PATCH", url, {"note": note})
        assert status == 422
        assert "note" in text
    assert api.get_dag_run("example", "manual__1").note is None


def test_viewer_may_not_write_a_note(client_as: Callable[[str], airflow.ApiClient]) -> None:
    with pytest.raises(ApiException) as raised:
        airflow.DagRunApi(client_as("Viewer")).patch_dag_run(
            "example", "manual__1", airflow.DAGRunPatchBody(note="no")
        )
    assert raised.value.status == 403


def test_a_task_instance_note(admin: airflow.ApiClient) -> None:
    api = airflow.TaskInstanceApi(admin)
    body = airflow.PatchTaskInstanceBody(note="flaky source")
    patched = api.patch_task_instance("example", "manual__1", "extract", body)
    assert [ti.note for ti in patched.task_instances] == ["flaky source"]
    ti = api.get_task_instance("example", "manual__1", "extract")
    assert (ti.note, ti.state) == ("flaky source", "failed")
    assert api.get_task_instance("example", "manual__1", "load").note is None
    both = airflow.PatchTaskInstanceBody(new_state="success", note="fixed")
    api.patch_task_instance("example", "manual__1", "extract", both, update_mask=["note"])
    ti = api.get_task_instance("example", "manual__1", "extract")
    assert (ti.note, ti.state) == ("fixed", "failed")


# -- DAG stats and warnings -----------------------------------------------------------------


def test_dag_stats_count_runs_by_state(admin: airflow.ApiClient) -> None:
    airflow.DagRunApi(admin).patch_dag_run(
        "finance_report", "manual__1", airflow.DAGRunPatchBody(state="success")
    )
    stats = airflow.DagStatsApi(admin).get_dag_stats()
    assert stats.total_entries == 2
    counts = {d.dag_id: {s.state.value: s.count for s in d.stats} for d in stats.dags}
    assert counts == {
        "example": {"queued": 1, "running": 0, "success": 0, "failed": 0},
        "finance_report": {"queued": 0, "running": 0, "success": 1, "failed": 0},
    }
    only = airflow.DagStatsApi(admin).get_dag_stats(dag_ids=["finance_report"])
    assert [d.dag_id for d in only.dags] == ["finance_report"]


def test_dag_stats_keep_to_the_readers_dags(client_as: Callable[[str], airflow.ApiClient]) -> None:
    stats = airflow.DagStatsApi(client_as("etl")).get_dag_stats()
    assert [d.dag_id for d in stats.dags] == ["example"]
    asked = airflow.DagStatsApi(client_as("etl")).get_dag_stats(dag_ids=["finance_report"])
    assert asked.total_entries == 0


@pytest.fixture
def limited(tmp_path: Path, base_url: str) -> Iterator[Callable[..., airflow.ApiClient]]:
    """``limited("read:dags", ..., dag_tags=[...])``: the client of a new user whose one role
    grants only those permissions (on DAGs with those tags)."""
    opened: list[airflow.ApiClient] = []

    def make(*permissions: str, dag_tags: list[str] | None = None) -> airflow.ApiClient:
        name = f"limited{len(opened)}"
        pairs = [(p.split(":")[0], p.split(":")[1]) for p in permissions]
        url = f"sqlite:///{tmp_path / 'loom.db'}"
        with database_sessions(url) as sessions, sessions.begin() as session:
            create_role(session=session, name=name, permissions=pairs, dag_tags=dag_tags or ())
            create_user(session=session, username=name, password=PASSWORD, role_names=[name])
        config = airflow.Configuration(host=base_url, access_token=token_for(base_url, name))
        opened.append(airflow.ApiClient(config))
        return opened[-1]

    yield make
    for api in opened:
        api.rest_client.pool_manager.clear()


def test_dag_stats_need_a_role_reading_runs(limited: Callable[..., airflow.ApiClient]) -> None:
    with pytest.raises(ApiException) as raised:
        airflow.DagStatsApi(limited("read:dags")).get_dag_stats()
    assert raised.value.status == 403
    assert "dag_runs" in _error(raised)


def test_no_warnings_when_every_pool_exists(admin: airflow.ApiClient) -> None:
    warnings = airflow.DagWarningApi(admin).list_dag_warnings()
    assert (warnings.dag_warnings, warnings.total_entries) == ([], 0)


@pytest.fixture
def pooled(template: Path, tmp_path: Path) -> Iterator[airflow.ApiClient]:
    """Admin's client on a world whose DAG ``pooled`` has a task in pool ``gpu`` (none)."""
    app = app_with_dag_file(template, tmp_path, "pooled.py", POOLED)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    api = airflow.ApiClient(airflow.Configuration(host=url, access_token=token_for(url, "admin")))
    try:
        yield api
    finally:
        api.rest_client.pool_manager.clear()
        server.shutdown()
        thread.join()
        server.server_close()


def test_a_task_in_a_missing_pool_is_warned_until_the_pool_exists(
    pooled: airflow.ApiClient,
) -> None:
    api = airflow.DagWarningApi(pooled)
    warnings = api.list_dag_warnings()
    assert warnings.total_entries == 1
    (warning,) = warnings.dag_warnings
    assert (warning.dag_id, warning.warning_type.value) == ("pooled", "non-existent pool")
    assert "gpu" in warning.message
    assert "etl" not in warning.message
    assert api.list_dag_warnings(dag_id="example").total_entries == 0
    assert (
        api.list_dag_warnings(warning_type=airflow.DagWarningType.ASSET_CONFLICT).total_entries == 0
    )
    airflow.PoolApi(pooled).post_pool(airflow.PoolBody(name="gpu", slots=1))
    assert api.list_dag_warnings().total_entries == 0


def test_bad_warning_filters_are_422(admin: airflow.ApiClient) -> None:
    api = airflow.DagWarningApi(admin)
    with pytest.raises(ApiException) as raised:
        api.list_dag_warnings(order_by=["nope"])
    assert raised.value.status == 422
    assert "order_by" in _error(raised)
    status, text = _raw(admin, "GET", "/api/v2/dagWarnings?warning_type=shell", None)
    assert status == 422
    assert "warning_type" in text


# -- DAG versions ---------------------------------------------------------------------------


def test_dag_versions(admin: airflow.ApiClient) -> None:
    api = airflow.DagVersionApi(admin)
    versions = api.get_dag_versions("example")
    assert [(v.dag_id, v.version_number) for v in versions.dag_versions] == [("example", 1)]
    one = api.get_dag_version("example", 1)
    assert one.id == versions.dag_versions[0].id
    run = airflow.DagRunApi(admin).get_dag_run("example", "manual__1")
    assert [v.version_number for v in run.dag_versions] == [1]
    with pytest.raises(ApiException) as raised:
        api.get_dag_version("example", 9)
    assert raised.value.status == 404
    assert "has no version 9" in _error(raised)


# -- bulk -----------------------------------------------------------------------------------


Model = TypeVar("Model", airflow.BulkBodyVariableBody, airflow.BulkBodyConnectionBody,
                  airflow.BulkBodyPoolBody)  # fmt: skip


def _bulk(model: type[Model], *actions: dict[str, object]) -> Model:
    body = model.from_dict({"actions": list(actions)})
    assert body is not None
    return body


def _variables(*actions: dict[str, object]) -> airflow.BulkBodyVariableBody:
    return _bulk(airflow.BulkBodyVariableBody, *actions)


def _done(result: airflow.BulkResponse, action: str) -> list[str]:
    """The keys ``action`` (create, update, delete) changed."""
    outcome = getattr(result, action)
    assert outcome is not None
    return list(outcome.success or [])


def _refused(result: airflow.BulkResponse, action: str) -> list[tuple[int, str]]:
    """The status and message of each refusal of ``action``."""
    outcome = getattr(result, action)
    assert outcome is not None
    return [(error["status_code"], error["error"]) for error in outcome.errors or []]


def test_bulk_variables(admin: airflow.ApiClient) -> None:
    api = airflow.VariableApi(admin)
    result = api.bulk_variables(
        _variables(
            {
                "action": "create",
                "entities": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}],
            },
            {"action": "update", "entities": [{"key": "region", "value": "us"}]},
            {"action": "delete", "entities": ["api_token"]},
        )
    )
    assert (_done(result, "create"), _refused(result, "create")) == (["a", "b"], [])
    assert _done(result, "update") == ["region"]
    assert _done(result, "delete") == ["api_token"]
    assert {v.key: v.value for v in api.get_variables().variables} == {
        "a": "1", "b": "2", "region": "us",
    }  # fmt: skip
    assert _events(admin, "variables.bulk_variables")[0].owner == "admin"


def test_bulk_existence_rules(admin: airflow.ApiClient) -> None:
    api = airflow.VariableApi(admin)
    result = api.bulk_variables(
        _variables(
            {"action": "create",
             "entities": [{"key": "region", "value": "x"}, {"key": "n", "value": "1"}]},
            {"action": "create", "action_on_existence": "skip",
             "entities": [{"key": "region", "value": "x"}, {"key": "m", "value": "1"}]},
            {"action": "delete", "entities": ["ghost"]},
            {"action": "delete", "action_on_non_existence": "skip", "entities": ["ghost", "m"]},
        )
    )  # fmt: skip
    assert _done(result, "create") == ["m"]
    ((status, message),) = _refused(result, "create")
    assert status == 409
    assert "region" in message
    assert _done(result, "delete") == ["m"]
    assert [status for status, _ in _refused(result, "delete")] == [404]
    keys = {v.key: v.value for v in api.get_variables().variables}
    assert keys == {"api_token": "***", "region": "eu-west-1"}  # n was refused with region
    api.bulk_variables(
        _variables({"action": "create", "action_on_existence": "overwrite",
                    "entities": [{"key": "region", "value": "x", "description": "d"}]})
    )  # fmt: skip
    assert api.get_variable("region").value == "x"


def test_bulk_bad_entity_is_422_naming_it_and_changes_nothing(admin: airflow.ApiClient) -> None:
    api = airflow.VariableApi(admin)
    body = {"actions": [
        {"action": "create", "entities": [{"key": "ok", "value": "1"}]},
        {"action": "update", "entities": [{"key": "region"}]},
    ]}  # fmt: skip
    status, text = _raw(admin, "PATCH", "/api/v2/variables", body)
    assert status == 422
    assert "actions.1.entities.0.value" in text
    assert "ok" not in {v.key for v in api.get_variables().variables}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "actions"),
        ({"actions": {"action": "create"}}, "actions"),
        ({"actions": [{"action": "upsert", "entities": []}]}, "actions.0.action"),
        ({"actions": [{"action": "create", "entities": [7]}]}, "actions.0.entities.0"),
        ({"actions": [{"action": "delete", "entities": [{}]}]}, "actions.0.entities.0"),
        ({"actions": [{"action": "create", "entities": [{"key": "k", "value": "a\u0000"}]}]},
         "actions.0.entities.0"),
        ({"actions": [{"action": "create",
                       "entities": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]}]},
         "appears twice"),
        ({"actions": [{"action": "update", "update_mask": ["key"],
                       "entities": [{"key": "region", "value": "1"}]}]},
         "actions.0.update_mask"),
        ({"actions": [{"action": "create", "action_on_existence": "merge", "entities": []}]},
         "action_on_existence"),
    ],
)  # fmt: skip
def test_bulk_bad_bodies_are_422_naming_the_problem(
    admin: airflow.ApiClient, body: object, named: str
) -> None:
    status, text = _raw(admin, "PATCH", "/api/v2/variables", body)
    assert status == 422, text
    assert named in text


def test_bulk_needs_each_actions_permission(
    client_as: Callable[[str], airflow.ApiClient], limited: Callable[..., airflow.ApiClient]
) -> None:
    with pytest.raises(ApiException) as raised:
        airflow.PoolApi(client_as("User")).bulk_pools(
            _bulk(
                airflow.BulkBodyPoolBody,
                {"action": "create", "entities": [{"name": "p", "slots": 1}]},
            )
        )
    assert raised.value.status == 403
    editor = limited("read:variables", "edit:variables")
    api = airflow.VariableApi(editor)
    with pytest.raises(ApiException) as raised:
        api.bulk_variables(
            _variables(
                {"action": "update", "entities": [{"key": "region", "value": "us"}]},
                {"action": "delete", "entities": ["api_token"]},
            )
        )
    assert raised.value.status == 403
    assert "delete" in _error(raised)
    updated = api.bulk_variables(
        _variables({"action": "update", "entities": [{"key": "region", "value": "us"}]})
    )
    assert _done(updated, "update") == ["region"]


def test_bulk_connections(admin: airflow.ApiClient) -> None:
    api = airflow.ConnectionApi(admin)
    body = _bulk(
        airflow.BulkBodyConnectionBody,
        {"action": "create", "entities": [{"connection_id": "api", "conn_type": "http",
                                           "host": "example.com"}]},
        {"action": "update", "update_mask": ["host"],
         "entities": [{"connection_id": "warehouse", "conn_type": "postgresql",
                       "host": "db2", "login": "ignored"}]},
    )  # fmt: skip
    result = api.bulk_connections(body)
    assert (_done(result, "create"), _done(result, "update")) == (["api"], ["warehouse"])
    warehouse = api.get_connection("warehouse")
    assert (warehouse.host, warehouse.login) == ("db2", "loader")
    assert api.get_connection("api").host == "example.com"


def test_bulk_pools(admin: airflow.ApiClient) -> None:
    api = airflow.PoolApi(admin)
    body = _bulk(
        airflow.BulkBodyPoolBody,
        {"action": "create", "entities": [{"name": "small", "slots": 2}]},
        {"action": "update", "entities": [{"name": "etl", "slots": 9}], "update_mask": ["slots"]},
        {"action": "delete", "entities": ["default_pool"]},
    )
    result = api.bulk_pools(body)
    assert (_done(result, "create"), _done(result, "update")) == (["small"], ["etl"])
    assert [status for status, _ in _refused(result, "delete")] == [409]
    slots = {p.name: p.slots for p in api.get_pools().pools}
    assert slots == {"default_pool": slots["default_pool"], "etl": 9, "small": 2}


def test_patch_dags_pauses_the_matching_ones(admin: airflow.ApiClient) -> None:
    api = airflow.DAGApi(admin)
    nothing = api.patch_dags(airflow.DAGPatchBody(is_paused=True))
    assert nothing.total_entries == 0
    paused = api.patch_dags(airflow.DAGPatchBody(is_paused=True), dag_id_pattern="financ")
    assert [d.dag_id for d in paused.dags] == ["finance_report"]
    assert [d.is_paused for d in paused.dags] == [True]
    assert api.get_dag("example").is_paused is False
    every = api.patch_dags(airflow.DAGPatchBody(is_paused=True), dag_id_pattern="~")
    assert {d.dag_id for d in every.dags} == {"example", "finance_report"}
    assert all(d.is_paused for d in api.get_dags().dags)


def test_patch_dags_keeps_to_the_callers_dags(
    client_as: Callable[[str], airflow.ApiClient], limited: Callable[..., airflow.ApiClient]
) -> None:
    everything = airflow.DAGPatchBody(is_paused=True)
    with pytest.raises(ApiException) as raised:
        airflow.DAGApi(client_as("Viewer")).patch_dags(everything, dag_id_pattern="~")
    assert raised.value.status == 403
    etl_editor = limited("read:dags", "edit:dags", dag_tags=["etl"])
    paused = airflow.DAGApi(etl_editor).patch_dags(everything, dag_id_pattern="~")
    assert [d.dag_id for d in paused.dags] == ["example"]
    assert airflow.DAGApi(client_as("Admin")).get_dag("finance_report").is_paused is False


def test_patch_dags_bad_update_mask_is_422(admin: airflow.ApiClient) -> None:
    with pytest.raises(ApiException) as raised:
        airflow.DAGApi(admin).patch_dags(
            airflow.DAGPatchBody(is_paused=True), dag_id_pattern="~", update_mask=["owners"]
        )
    assert raised.value.status == 422
    assert "update_mask" in (raised.value.body or "")
    assert airflow.DAGApi(admin).get_dag("example").is_paused is False
