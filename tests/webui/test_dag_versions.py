"""DAG versions in ``/api/v2`` and the UI, on PostgreSQL: a run exposes the version it was
created with (``dag_versions``), ``/dagVersions`` lists them, ``/dagSources`` and the code
page show a chosen version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.services import flushed_redis, redis_url
from tests.webui.conftest import app_for, bearer
from tests.webui.test_end_to_end import OnRQ, reparse, run_until_done
from tests.webui.ui import page_as
from tests.webui.world import PASSWORD, build_world

pytestmark = pytest.mark.postgres
REDIS_URL = redis_url(3)
ADDED = 'BashOperator(task_id="audit", bash_command="echo audit")'


@pytest.fixture
def versioned(postgres_url: str, tmp_path: Path) -> Flask:
    """The test world (run manual__1 of ``example`` on version 1), then ``example`` gets a
    third task ``audit``: version 2."""
    world = build_world(postgres_url, tmp_path / "dags")
    _add_audit(postgres_url, world.dags_folder)
    return app_for(postgres_url, tmp_path, world.dags_folder)


def _add_audit(url: str, dags: Path) -> None:
    path = dags / "example_dags.py"
    path.write_text(path.read_text().replace("extract >> load", f"extract >> load >> {ADDED}"))
    reparse(url, dags)


RUNS = "/api/v2/dags/example/dagRuns"
VERSIONS = "/api/v2/dags/example/dagVersions"


def v2_headers(client: FlaskClient, username: str) -> dict[str, str]:
    """A bearer header with a token from Airflow 3's ``POST /auth/token``."""
    response = client.post("/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return bearer(response.get_json()["access_token"])


def trigger(client: FlaskClient, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    created = client.post(RUNS, json={"dag_run_id": run_id, "logical_date": None}, headers=headers)
    assert created.status_code == 200, created.get_json()
    return dict(created.get_json())


def versions_of(run: dict[str, Any]) -> list[int]:
    return [version["version_number"] for version in run["dag_versions"]]


@pytest.fixture
def api(versioned: Flask) -> tuple[FlaskClient, dict[str, str]]:
    client = versioned.test_client()
    return client, v2_headers(client, "user")


def test_a_run_exposes_its_version_and_a_new_run_takes_the_latest(
    api: tuple[FlaskClient, dict[str, str]],
) -> None:
    client, headers = api
    old = client.get(f"{RUNS}/manual__1", headers=headers).get_json()
    assert versions_of(old) == [1]
    assert old["dag_versions"][0]["dag_id"] == "example"
    assert versions_of(trigger(client, headers, "r2")) == [2]
    listed = client.get(f"{RUNS}?order_by=dag_run_id", headers=headers).get_json()
    assert [(r["dag_run_id"], versions_of(r)) for r in listed["dag_runs"]] == [
        ("manual__1", [1]),
        ("r2", [2]),
    ]


def test_dag_versions_are_listed_oldest_first_and_got_one_by_one(
    api: tuple[FlaskClient, dict[str, str]],
) -> None:
    client, headers = api
    page = client.get(VERSIONS, headers=headers).get_json()
    assert page["total_entries"] == 2
    assert [v["version_number"] for v in page["dag_versions"]] == [1, 2]
    assert {v["bundle_name"] for v in page["dag_versions"]} == {None}
    newest = client.get(f"{VERSIONS}?order_by=-version_number&limit=1", headers=headers)
    assert [v["version_number"] for v in newest.get_json()["dag_versions"]] == [2]
    second = client.get(f"{VERSIONS}?limit=1&offset=1", headers=headers).get_json()
    assert [v["version_number"] for v in second["dag_versions"]] == [2]
    only = client.get(f"{VERSIONS}?version_number=1", headers=headers).get_json()
    assert [v["version_number"] for v in only["dag_versions"]] == [1]

    one = client.get(f"{VERSIONS}/1", headers=headers).get_json()
    assert (one["dag_id"], one["version_number"]) == ("example", 1)
    assert one["id"] == page["dag_versions"][0]["id"]
    missing = client.get(f"{VERSIONS}/9", headers=headers)
    assert missing.status_code == 404
    assert "has no version 9" in missing.get_json()["detail"]
    assert client.get("/api/v2/dags/nope/dagVersions", headers=headers).status_code == 404
    bad = client.get(f"{VERSIONS}?order_by=dag_hash", headers=headers)
    assert bad.status_code == 422
    assert "order_by" in bad.get_json()["detail"]


def test_the_source_of_a_version_is_the_file_it_was_parsed_from(
    api: tuple[FlaskClient, dict[str, str]],
) -> None:
    client, headers = api
    source = "/api/v2/dagSources/example"
    now = client.get(source, headers=headers).get_json()
    v1 = client.get(f"{source}?version_number=1", headers=headers).get_json()
    v2 = client.get(f"{source}?version_number=2", headers=headers).get_json()
    assert ADDED in now["content"]
    assert (v2["version_number"], ADDED in v2["content"]) == (2, True)
    assert (v1["version_number"], ADDED in v1["content"]) == (1, False)
    assert "extract >> load" in v1["content"]
    bad = client.get(f"{source}?version_number=0", headers=headers)
    assert bad.status_code == 422
    assert client.get(f"{source}?version_number=7", headers=headers).status_code == 404


def test_the_run_page_links_its_version_and_the_code_page_shows_it(versioned: Flask) -> None:
    client = versioned.test_client()
    run_page = page_as(client, "Viewer", "/dags/example/runs/manual__1")
    assert 'href="/dags/example/code?version=1"' in run_page
    assert "version 1</a>" in run_page

    code = client.get("/dags/example/code?version=1")
    assert code.status_code == 200
    html = code.get_data(as_text=True)
    assert "as parsed into version 1 of the DAG" in html
    assert "audit" not in html  # v2's task is not in v1's file
    assert '<option value="1" selected' in html
    assert "audit" in client.get("/dags/example/code?version=2").get_data(as_text=True)
    assert client.get("/dags/example/code?version=7").status_code == 404
    assert client.get("/dags/example/code?version=x").status_code == 400

    runs_page = client.get("/dags/example/runs").get_data(as_text=True)
    assert 'aria-label="Code of version 1">1</a>' in runs_page

    graph = client.get("/dags/example/graph?run_id=manual__1").get_data(as_text=True)
    assert "DAG version 1</a>" in graph
    assert "audit" not in graph  # the run's graph: v1 has no audit task


def test_the_graph_of_a_run_is_its_versions(
    versioned: Flask, api: tuple[FlaskClient, dict[str, str]]
) -> None:
    client, headers = api
    trigger(client, headers, "r2")
    old = page_as(client, "Viewer", "/dags/example/graph?run_id=manual__1")
    new = client.get("/dags/example/graph?run_id=r2").get_data(as_text=True)
    assert "audit" not in old
    assert "DAG version 2</a>" in new
    assert "audit" in new


@pytest.mark.redis
@pytest.mark.slow
def test_an_old_run_keeps_its_order_on_real_workers_after_the_file_reverses_it(
    postgres_url: str, tmp_path: Path
) -> None:
    with flushed_redis(REDIS_URL):
        world = build_world(postgres_url, tmp_path / "dags")
        app = app_for(
            postgres_url, tmp_path, world.dags_folder,
            executor={"kind": "rq"}, redis={"url": REDIS_URL},
        )  # fmt: skip
        client = app.test_client()
        headers = v2_headers(client, "user")
        trigger(client, headers, "old")  # version 1: extract >> load
        path = world.dags_folder / "example_dags.py"
        path.write_text(path.read_text().replace("extract >> load", "load >> extract"))
        reparse(postgres_url, world.dags_folder)
        trigger(client, headers, "new")  # version 2: load >> extract

        order = {}
        on_rq = OnRQ(postgres_url, tmp_path, world.dags_folder, client, headers)
        for run_id in ("old", "new"):
            run_until_done(on_rq, f"{RUNS}/{run_id}", redis_url=REDIS_URL)
            assert client.get(f"{RUNS}/{run_id}", headers=headers).get_json()["state"] == "success"
            items = client.get(f"{RUNS}/{run_id}/taskInstances", headers=headers).get_json()
            started = sorted(items["task_instances"], key=lambda ti: ti["start_date"])
            order[run_id] = [ti["task_id"] for ti in started]
    assert order == {"old": ["extract", "load"], "new": ["load", "extract"]}
