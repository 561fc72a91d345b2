"""A DAG's display name, owners' links and docs in the API and the server-rendered UI;
Markdown from the DAG file is rendered without letting its HTML through."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webui.conftest import app_for, bearer, login
from tests.webui.ui import page_as
from tests.webui.world import build_world

SHOWN = textwrap.dedent(
    '''
    from datetime import datetime
    from engine import DAG, EmptyOperator

    DOC = """# Nightly orders

    Loads **orders** into the warehouse. <script>alert("doc")</script>
    [bad link](javascript:alert(1)) and [the runbook](https://wiki.example/orders).
    """

    with DAG("shown", schedule=None, start_date=datetime(2026, 1, 1),
             dag_display_name="Nightly orders", doc_md=DOC, fail_fast=True,
             max_consecutive_failed_dag_runs=4,
             owner_links={"ann": "https://wiki.example/ann", "ops": "mailto:ops@example.com"},
             default_args={"owner": "ann"}) as dag:
        EmptyOperator(task_id="a")
        EmptyOperator(task_id="b", owner="ops")
    '''
)


def _app(url: str, tmp_path: Path) -> Flask:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "shown.py").write_text(SHOWN)
    build_world(url, folder)
    return app_for(url, tmp_path, folder)


@pytest.fixture
def shown_app(tmp_path: Path) -> Flask:
    return _app(f"sqlite:///{tmp_path / 'loom.db'}", tmp_path)


def _api(app: Flask) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    return client, bearer(login(client, "viewer")["access_token"])


def test_the_dag_payload_has_the_display_name_links_and_docs(shown_app: Flask) -> None:
    client, headers = _api(shown_app)
    one = client.get("/api/v2/dags/shown/details", headers=headers).get_json()
    assert one["dag_display_name"] == "Nightly orders"
    assert one["owners"] == ["ann", "ops"]
    assert one["owner_links"] == {
        "ann": "https://wiki.example/ann",
        "ops": "mailto:ops@example.com",
    }
    assert one["doc_md"].startswith("# Nightly orders")
    assert one["max_consecutive_failed_dag_runs"] == 4
    listed = client.get("/api/v2/dags", headers=headers).get_json()
    by_id = {dag["dag_id"]: dag for dag in listed["dags"]}
    assert by_id["shown"]["dag_display_name"] == "Nightly orders"
    assert by_id["shown"]["owners"] == ["ann", "ops"]
    # A list stays light: docs and links are in the DAG's details.
    assert "doc_md" not in by_id["shown"]
    assert "owner_links" not in by_id["shown"]
    # A DAG without the arguments shows its id and no links.
    assert by_id["example"]["dag_display_name"] == "example"
    example = client.get("/api/v2/dags/example/details", headers=headers).get_json()
    assert not example["owner_links"]


@pytest.mark.postgres
def test_the_dag_payload_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    client, headers = _api(_app(postgres_url, tmp_path))
    one = client.get("/api/v2/dags/shown", headers=headers).get_json()
    assert (one["dag_display_name"], one["owners"]) == ("Nightly orders", ["ann", "ops"])
    patched = client.patch("/api/v2/dags/shown", json={"is_paused": True}, headers=headers)
    assert patched.status_code == 403  # a viewer may not; the payload shape is the same below
    admin = bearer(login(client, "admin")["access_token"])
    patched = client.patch("/api/v2/dags/shown", json={"is_paused": True}, headers=admin)
    assert patched.get_json()["dag_display_name"] == "Nightly orders"


def test_the_dag_list_and_page_show_the_display_name_and_linked_owners(shown_app: Flask) -> None:
    client = shown_app.test_client()
    listing = page_as(client, "Viewer", "/dags")
    assert "<strong>Nightly orders</strong></a>" in listing
    assert '<code class="muted dag-id">shown</code>' in listing
    assert '<a class="owner" href="https://wiki.example/ann" rel="noopener noreferrer">ann</a>' in (
        listing
    )
    assert 'href="mailto:ops@example.com"' in listing
    page = client.get("/dags/shown").get_data(as_text=True)
    assert "<title>Nightly orders · Loom</title>" in page
    assert '<h1>Nightly orders <code class="muted dag-id">shown</code></h1>' in page
    assert '<a class="owner" href="https://wiki.example/ann"' in page


def test_doc_md_is_rendered_at_the_top_of_the_dag_page_without_its_html(
    shown_app: Flask,
) -> None:
    client = shown_app.test_client()
    page = page_as(client, "Viewer", "/dags/shown")
    assert "<h1>Nightly orders</h1>" in page  # the doc's own heading
    assert "<strong>orders</strong>" in page
    assert '<a href="https://wiki.example/orders">the runbook</a>' in page
    assert "<script>alert" not in page  # raw HTML is shown as text
    assert "&lt;script&gt;alert" in page
    assert 'href="javascript:' not in page
    # Only on the DAG's main page (the grid), not on every tab.
    assert "the runbook" not in client.get("/dags/shown/runs").get_data(as_text=True)
