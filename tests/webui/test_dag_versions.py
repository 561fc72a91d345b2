"""DAG versions in the API and the UI, on PostgreSQL: a run exposes the version it was created
with, ``/dagVersions`` lists them, the source and the code page show a chosen version."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.services import flushed_redis
from tests.webui.conftest import app_for, bearer, login
from tests.webui.test_end_to_end import OnRQ, reparse, run_until_done
from tests.webui.ui import ui_sign_in
from tests.webui.world import build_world

pytestmark = pytest.mark.postgres
REDIS_URL = "redis://127.0.0.1:6379/3"
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


@pytest.fixture
def api(versioned: Flask) -> tuple[FlaskClient, dict[str, str]]:
    client = versioned.test_client()
    return client, bearer(login(client, "user")["access_token"])


def test_a_run_exposes_its_version_and_a_new_run_takes_the_latest(
    api: tuple[FlaskClient, dict[str, str]],
) -> None:
    client, headers = api
    old = client.get("/api/v1/dags/example/dagRuns/manual__1", headers=headers)
    assert old.get_json()["dag_version"] == 1
    created = client.post("/api/v1/dags/example/dagRuns", json={"run_id": "r2"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["dag_version"] == 2
    listed = client.get("/api/v1/dags/example/dagRuns?order_by=run_id", headers=headers)
    assert [(r["run_id"], r["dag_version"]) for r in listed.get_json()["items"]] == [
        ("manual__1", 1),
        ("r2", 2),
    ]


def test_dag_versions_are_listed_newest_first_and_got_one_by_one(
    api: tuple[FlaskClient, dict[str, str]],
) -> None:
    client, headers = api
    page = client.get("/api/v1/dags/example/dagVersions", headers=headers).get_json()
    assert page["total"] == 2
    assert [(v["version_number"], v["task_count"], v["run_count"]) for v in page["items"]] == [
        (2, 3, 0),
        (1, 2, 1),
    ]
    second = client.get("/api/v1/dags/example/dagVersions?limit=1&offset=1", headers=headers)
    assert [v["version_number"] for v in second.get_json()["items"]] == [1]

    one = client.get("/api/v1/dags/example/dagVersions/1", headers=headers).get_json()
    assert (one["dag_id"], one["version_number"], one["run_count"]) == ("example", 1, 1)
    assert len(one["dag_hash"]) == 64
    missing = client.get("/api/v1/dags/example/dagVersions/9", headers=headers)
    assert missing.status_code == 404
    assert "has no version 9" in str(missing.get_json())
    unknown = client.get("/api/v1/dags/nope/dagVersions", headers=headers)
    assert unknown.status_code == 404


def test_the_source_of_a_version_is_the_file_it_was_parsed_from(
    api: tuple[FlaskClient, dict[str, str]],
) -> None:
    client, headers = api
    now = client.get("/api/v1/dags/example/source", headers=headers).get_json()
    v1 = client.get("/api/v1/dags/example/source?version_number=1", headers=headers).get_json()
    v2 = client.get("/api/v1/dags/example/source?version_number=2", headers=headers).get_json()
    assert ADDED in now["content"]
    assert ADDED in v2["content"]
    assert ADDED not in v1["content"]
    assert "extract >> load" in v1["content"]
    bad = client.get("/api/v1/dags/example/source?version_number=0", headers=headers)
    assert bad.status_code == 422


def test_the_run_page_links_its_version_and_the_code_page_shows_it(versioned: Flask) -> None:
    client = versioned.test_client()
    ui_sign_in(client, "Viewer")
    run_page = client.get("/dags/example/runs/manual__1").get_data(as_text=True)
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
    client.post("/api/v1/dags/example/dagRuns", json={"run_id": "r2"}, headers=headers)
    ui_sign_in(client, "Viewer")
    old = client.get("/dags/example/graph?run_id=manual__1").get_data(as_text=True)
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
        headers = bearer(login(client, "user")["access_token"])
        runs = "/api/v1/dags/example/dagRuns"
        client.post(runs, json={"run_id": "old"}, headers=headers)  # v1: extract >> load
        path = world.dags_folder / "example_dags.py"
        path.write_text(path.read_text().replace("extract >> load", "load >> extract"))
        reparse(postgres_url, world.dags_folder)
        client.post(runs, json={"run_id": "new"}, headers=headers)  # v2: load >> extract

        order = {}
        on_rq = OnRQ(postgres_url, tmp_path, world.dags_folder, client, headers)
        for run_id in ("old", "new"):
            run_until_done(on_rq, f"{runs}/{run_id}", redis_url=REDIS_URL)
            assert client.get(f"{runs}/{run_id}", headers=headers).get_json()["state"] == "success"
            items = client.get(f"{runs}/{run_id}/taskInstances", headers=headers).get_json()
            started = sorted(items["items"], key=lambda ti: ti["start_date"])
            order[run_id] = [ti["task_id"] for ti in started]
    assert order == {"old": ["extract", "load"], "new": ["load", "extract"]}
