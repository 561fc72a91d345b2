"""Airflow's official client on /api/v2's assets, aliases, asset events, materializing and
queued events, against a DAG folder where ``ingest`` updates an asset that
``report_on_raw`` is scheduled on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from airflow_client import client as airflow
from airflow_client.client.exceptions import ApiException
from flask import Flask

from engine.scheduling.assets import create_asset_triggered_runs
from tests.support.dagfiles import ASSET_DAGS
from tests.support.database import database_sessions
from tests.webui.api_v2.conftest import app_with_dag_file
from tests.webui.world import T0


@pytest.fixture
def app(template: Path, tmp_path: Path) -> Flask:
    return app_with_dag_file(template, tmp_path, "asset_dags.py", ASSET_DAGS)


def raw_asset(api: airflow.AssetApi) -> airflow.AssetResponse:
    listed = api.get_assets(name_pattern="raw")
    return next(a for a in listed.assets if a.name == "raw")


def consume_queued_events(app: Flask) -> None:
    """What the scheduler's asset step does: a run for each DAG whose assets were updated."""
    url = app.extensions["loom.settings"].database.url
    with database_sessions(url) as sessions, sessions.begin() as session:
        create_asset_triggered_runs(session=session, now=T0)


def test_assets_list_with_producers_consumers_and_filters(admin: airflow.ApiClient) -> None:
    api = airflow.AssetApi(admin)
    raw = raw_asset(api)
    assert raw.uri == "s3://lake/raw"
    assert [(t.dag_id, t.task_id) for t in raw.producing_tasks] == [("ingest", "land")]
    assert [d.dag_id for d in raw.scheduled_dags] == ["report_on_raw"]
    assert raw.last_asset_event is None
    active = {a.uri for a in api.get_assets().assets}
    assert active == {"s3://lake/raw"}  # the world's asset no DAG declares is not active
    every = {a.uri for a in api.get_assets(only_active=False).assets}
    assert every == {"s3://lake/raw", "s3://world/raw"}
    assert api.get_assets(uri_pattern="nothing").total_entries == 0
    assert [a.name for a in api.get_assets(dag_ids=["report_on_raw"]).assets] == ["raw"]
    assert api.get_asset(raw.id).name == "raw"
    with pytest.raises(ApiException) as raised:
        api.get_asset(999999)
    assert raised.value.status == 404


def test_an_event_queues_its_consumers_until_a_run_consumes_it(
    app: Flask, admin: airflow.ApiClient
) -> None:
    api = airflow.AssetApi(admin)
    raw = raw_asset(api)
    event = api.create_asset_event(airflow.CreateAssetEventsBody(asset_id=raw.id, extra={"n": 7}))
    assert (event.name, event.extra, event.source_dag_id) == ("raw", {"n": 7}, None)
    queued = api.get_dag_asset_queued_events("report_on_raw").queued_events
    assert [(q.dag_id, q.asset_id) for q in queued] == [("report_on_raw", raw.id)]
    assert api.get_asset_queued_events(raw.id).total_entries == 1
    assert api.get_dag_asset_queued_event("report_on_raw", raw.id).asset_id == raw.id

    consume_queued_events(app)
    [listed] = api.get_asset_events(asset_id=raw.id).asset_events
    [made] = listed.created_dagruns
    assert (made.dag_id, made.triggering) == ("report_on_raw", True)
    assert raw_asset(api).last_asset_event.id == event.id
    with pytest.raises(ApiException) as raised:
        api.get_dag_asset_queued_events("report_on_raw")
    assert raised.value.status == 404  # consumed: nothing waits any more


def test_queued_events_can_be_dropped(admin: airflow.ApiClient) -> None:
    api = airflow.AssetApi(admin)
    raw = raw_asset(api)
    api.create_asset_event(airflow.CreateAssetEventsBody(asset_id=raw.id))
    api.delete_dag_asset_queued_event("report_on_raw", raw.id)
    with pytest.raises(ApiException) as raised:
        api.get_dag_asset_queued_event("report_on_raw", raw.id)
    assert raised.value.status == 404
    api.create_asset_event(airflow.CreateAssetEventsBody(asset_id=raw.id))
    api.delete_asset_queued_events(raw.id)
    for dropped in (api.get_asset_queued_events, api.delete_asset_queued_events):
        with pytest.raises(ApiException) as raised:
            dropped(raw.id)
        assert raised.value.status == 404


def test_event_filters(admin: airflow.ApiClient) -> None:
    api = airflow.AssetApi(admin)
    raw = raw_asset(api)
    first = api.create_asset_event(airflow.CreateAssetEventsBody(asset_id=raw.id))
    second = api.create_asset_event(airflow.CreateAssetEventsBody(asset_id=raw.id))
    newest_first = [e.id for e in api.get_asset_events().asset_events]
    assert newest_first == [second.id, first.id]
    oldest_first = [e.id for e in api.get_asset_events(order_by=["timestamp"]).asset_events]
    assert oldest_first[0] == first.id
    assert api.get_asset_events(source_dag_id="ingest").total_entries == 0
    assert api.get_asset_events(name_pattern="raw").total_entries == 2
    later = api.get_asset_events(timestamp_gt=second.timestamp).total_entries
    assert later == 0


def test_materialize_triggers_the_producing_dag(admin: airflow.ApiClient) -> None:
    api = airflow.AssetApi(admin)
    run = api.materialize_asset(raw_asset(api).id)
    assert (run.dag_id, run.state) == ("ingest", "queued")


def test_aliases(admin: airflow.ApiClient) -> None:
    api = airflow.AssetApi(admin)
    aliases = api.get_asset_aliases().asset_aliases
    assert [a.name for a in aliases] == ["lake_alias"]
    assert api.get_asset_alias(aliases[0].id)["name"] == "lake_alias"  # the client: untyped


def test_viewers_read_but_may_not_post_events(
    client_as: Callable[[str], airflow.ApiClient],
) -> None:
    api = airflow.AssetApi(client_as("Viewer"))
    raw = raw_asset(api)
    with pytest.raises(ApiException) as raised:
        api.create_asset_event(airflow.CreateAssetEventsBody(asset_id=raw.id))
    assert raised.value.status == 403


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"asset_id": 1, "partition_key": "2026-01"}, "partition"),
        ({"asset_id": 1, "surprise": True}, "surprise"),
        ({"extra": {}}, "asset_id"),
    ],
)
def test_bad_event_bodies_are_refused_by_name(
    app: Flask, body: dict[str, object], problem: str
) -> None:
    from tests.webui.conftest import bearer, login
    from tests.webui.world import USERNAMES

    client = app.test_client()
    h = bearer(login(client, USERNAMES["Admin"])["access_token"])
    response = client.post("/api/v2/assets/events", json=body, headers=h)
    assert response.status_code == 422, response.get_json()
    assert problem in response.get_data(as_text=True)
