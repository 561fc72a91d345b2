"""``/api/v2/assets`` and the Assets pages (Flask test client, no browser), on SQLite and
PostgreSQL: producers and consumers from the parsed DAGs, an event POSTed from outside
queues the DAGs scheduled on the asset, bad input is a 4xx, Viewers only read, and every
change is audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support.dagfiles import ASSET_DAGS
from tests.webui.conftest import (
    app_for,
    bearer,
    login,
    parse_new_files,
    world_copy,
    world_dags_copy,
)
from tests.webui.world import USERNAMES, build_world


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest, template: Path, tmp_path: Path) -> FlaskClient:
    if request.param == "sqlite":
        url = world_copy(template, tmp_path / "loom.db")
        dags = world_dags_copy(template, tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
        dags = build_world(url, tmp_path / "dags").dags_folder
    (dags / "asset_dags.py").write_text(ASSET_DAGS)
    parse_new_files(url, dags)
    return app_for(url, tmp_path, dags).test_client()


def headers(client: FlaskClient, role: str) -> dict[str, str]:
    return bearer(login(client, USERNAMES.get(role, role))["access_token"])


def raw_asset(client: FlaskClient, h: dict[str, str]) -> dict[str, Any]:
    listed = client.get("/api/v2/assets", headers=h).get_json()
    return next(a for a in listed["assets"] if a["name"] == "raw")


def producers(asset: dict[str, Any]) -> list[tuple[str, str]]:
    return [(ref["dag_id"], ref["task_id"]) for ref in asset["producing_tasks"]]


def consumers(asset: dict[str, Any]) -> list[str]:
    return [ref["dag_id"] for ref in asset["scheduled_dags"]]


def test_assets_show_their_producers_and_consumers(client: FlaskClient) -> None:
    h = headers(client, "Viewer")
    raw = raw_asset(client, h)
    assert raw["uri"] == "s3://lake/raw"
    assert producers(raw) == [("ingest", "land")]
    assert consumers(raw) == ["report_on_raw"]
    assert client.get(f"/api/v2/assets/{raw['id']}", headers=h).get_json()["name"] == "raw"
    assert client.get("/api/v2/assets/999999", headers=h).status_code == 404


def test_a_role_limited_to_tags_sees_only_its_dags_as_producers_and_consumers(
    client: FlaskClient,
) -> None:
    raw = raw_asset(client, headers(client, "etl"))  # the EtlViewer role: tag etl only
    assert producers(raw) == [("ingest", "land")]
    assert consumers(raw) == []


def test_an_external_event_queues_the_consumers(client: FlaskClient) -> None:
    h = headers(client, "User")
    raw = raw_asset(client, h)
    queue = "/api/v2/dags/report_on_raw/assets/queuedEvents"
    assert client.get(queue, headers=h).status_code == 404  # Airflow's answer for none
    made = client.post(
        "/api/v2/assets/events", json={"asset_id": raw["id"], "extra": {"rows": 7}}, headers=h
    )
    assert made.status_code == 200, made.get_json()
    event = made.get_json()
    assert (event["name"], event["extra"], event["source_dag_id"]) == ("raw", {"rows": 7}, None)
    queued = client.get(queue, headers=h).get_json()["queued_events"]
    assert [q["asset_id"] for q in queued] == [raw["id"]]
    listed = client.get(f"/api/v2/assets/events?asset_id={raw['id']}", headers=h).get_json()
    assert [e["id"] for e in listed["asset_events"]] == [event["id"]]
    audit = client.get("/api/v2/eventLogs?limit=100", headers=headers(client, "Admin")).get_json()
    entries = [
        (e["event"], json.loads(e["extra"])["target"], e["owner"]) for e in audit["event_logs"]
    ]
    assert any("assets/events" in f"{a} {t}" and u == "user" for a, t, u in entries), entries


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"asset_id": 999999}, 404),
        ({"extra": {}}, 422),
        ({"asset_id": "one"}, 422),
        ({"asset_id": 1, "extra": [1]}, 422),
    ],
)
def test_bad_events_are_refused(client: FlaskClient, body: dict[str, Any], status: int) -> None:
    response = client.post("/api/v2/assets/events", json=body, headers=headers(client, "Admin"))
    assert response.status_code == status, response.get_json()


def test_viewers_may_not_record_events(client: FlaskClient) -> None:
    raw = raw_asset(client, headers(client, "Viewer"))
    response = client.post(
        "/api/v2/assets/events", json={"asset_id": raw["id"]}, headers=headers(client, "Viewer")
    )
    assert response.status_code == 403


def ui_login(client: FlaskClient, role: str) -> None:
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    from tests.webui.world import PASSWORD

    response = client.post(
        "/login",
        data={"username": USERNAMES[role], "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)


def test_the_assets_pages_show_the_graph_events_and_queued_consumers(client: FlaskClient) -> None:
    h = headers(client, "User")
    raw = raw_asset(client, h)
    client.post("/api/v2/assets/events", json={"asset_id": raw["id"], "extra": {"n": 1}}, headers=h)
    ui_login(client, "Viewer")
    listing = client.get("/assets").get_data(as_text=True)
    assert 'href="/assets"' in listing  # the navigation links the page
    assert f'data-asset="{raw["id"]}"' in listing
    assert "ingest.land" in listing
    assert "report_on_raw" in listing
    page = client.get(f"/assets/{raw['id']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    graph = text.split('class="asset-graph"')[1].split("</div>")[0]
    assert graph.index("ingest.land") < graph.index("raw") < graph.index("report_on_raw")
    assert 'data-queued="report_on_raw"' in text
    assert "{&#34;n&#34;: 1}" in text or '{"n": 1}' in text
    assert client.get("/assets/999999").status_code == 404
