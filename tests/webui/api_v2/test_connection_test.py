"""``POST /api/v2/connections/test`` (Airflow's ``ConnectionApi.test_connection``): refused
(403, naming the setting) unless ``core.test_connection`` is Enabled; then the body's
connection is tested by its hook, a masked password taken from the stored connection."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from tests.support.httpservice import http_service
from tests.webui.conftest import bearer, login, template_app
from tests.webui.world import USERNAMES

TEST = "/api/v2/connections/test"
TESTED = {"status": True, "message": "Connection successfully tested"}


def client_with(template: Path, tmp_path: Path, **core: Any) -> FlaskClient:
    core = {"dags_folder": str(template / "dags"), **core}
    return template_app(template, tmp_path, core=core).test_client()


def headers(client: FlaskClient, role: str = "Admin") -> dict[str, str]:
    return bearer(login(client, USERNAMES[role])["access_token"])


def test_disabled_by_default(template: Path, tmp_path: Path) -> None:
    client = client_with(template, tmp_path)
    body = {"connection_id": "db", "conn_type": "sqlite", "host": str(tmp_path / "x.db")}
    refused = client.post(TEST, json=body, headers=headers(client))
    assert refused.status_code == 403
    assert "core.test_connection is Disabled" in refused.get_json()["detail"]
    assert not (tmp_path / "x.db").exists()


def test_enabled_tests_the_body_and_unmasks_the_stored_password(
    template: Path, tmp_path: Path
) -> None:
    client = client_with(template, tmp_path, test_connection="enabled")
    h = headers(client)
    body = {"connection_id": "db", "conn_type": "sqlite", "host": str(tmp_path / "x.db")}
    assert client.post(TEST, json=body, headers=h).get_json() == TESTED
    bad = {**body, "host": str(tmp_path / "missing" / "x.db")}
    answer = client.post(TEST, json=bad, headers=h).get_json()
    assert answer["status"] is False
    assert "unable to open database file" in answer["message"]
    with http_service() as service:
        expected = "Basic " + base64.b64encode(b"bot:s3cret").decode()
        service.routes["/"] = lambda r: (
            (200, "ok") if r.headers.get("Authorization") == expected else (401, "no")
        )
        stored = {"connection_id": "api", "conn_type": "http", "host": service.url, "login": "bot"}
        made = client.post("/api/v2/connections", json={**stored, "password": "s3cret"}, headers=h)
        assert made.status_code == 201
        shown = client.get("/api/v2/connections/api", headers=h).get_json()
        assert shown["password"] == "***"
        tested = client.post(TEST, json={**stored, "password": shown["password"]}, headers=h)
        assert tested.get_json() == TESTED
        wrong = client.post(TEST, json={**stored, "password": "guess"}, headers=h).get_json()
        assert wrong == {"status": False, "message": "HookError: 401:Unauthorized"}
    viewer = client.post(TEST, json=body, headers=headers(client, "Viewer"))
    assert viewer.status_code == 403
    assert client.post(TEST, json={"conn_type": "http"}, headers=h).status_code == 422
