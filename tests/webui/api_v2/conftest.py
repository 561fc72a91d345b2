"""A real HTTP server of the test world's app (werkzeug, in a thread on 127.0.0.1), and
Airflow's official client signed in to it through ``POST /auth/token``."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from airflow_client import client as airflow
from flask import Flask
from werkzeug.serving import make_server

from tests.webui.conftest import app_for, parse_new_files, world_copy, world_dags_copy
from tests.webui.world import PASSWORD, USERNAMES


def app_with_dag_file(template: Path, tmp_path: Path, name: str, source: str) -> Flask:
    """An app on a copy of the SQLite world whose DAG folder also holds ``name`` with
    ``source``, parsed."""
    url = world_copy(template, tmp_path / "loom.db")
    dags = world_dags_copy(template, tmp_path, **{name: source})
    parse_new_files(url, dags)
    return app_for(url, tmp_path, dags)


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    """The URL of ``app`` served over HTTP (one request at a time: SQLite)."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def token_for(base_url: str, username: str, password: str = PASSWORD) -> str:
    """An access token from ``POST /auth/token``, as Airflow 3 gives one."""
    request = urllib.request.Request(
        f"{base_url}/auth/token",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 201
        token: str = json.load(response)["access_token"]
    return token


@pytest.fixture
def client_as(base_url: str) -> Iterator[Callable[[str], airflow.ApiClient]]:
    """``client_as("Admin")``: the official client with a token of that role's user."""
    opened: list[airflow.ApiClient] = []

    def make(role: str) -> airflow.ApiClient:
        config = airflow.Configuration(
            host=base_url, access_token=token_for(base_url, USERNAMES.get(role, role))
        )
        api = airflow.ApiClient(config)
        opened.append(api)
        return api

    yield make
    for api in opened:
        api.rest_client.pool_manager.clear()  # its open sockets


@pytest.fixture
def admin(client_as: Callable[[str], airflow.ApiClient]) -> airflow.ApiClient:
    return client_as("Admin")
