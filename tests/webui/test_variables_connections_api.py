"""``/api/v2/variables`` and ``/api/v2/connections`` on SQLite and PostgreSQL: values
encrypted in the database, secrets masked in responses and absent from the audit log,
bad input refused with 4xx, and only Op and Admin allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask.testing import FlaskClient

from tests.support.database import database_sessions
from tests.webui.conftest import app_for, bearer, login, world_copy
from tests.webui.world import USERNAMES, build_world

KEY = Fernet.generate_key().decode()
AUDIT = "/api/v2/eventLogs?limit=100"  # the audit log in Airflow's shape


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, template: Path, tmp_path: Path) -> tuple[str, Any]:
    """(database url, client) of an app whose settings carry a Fernet key."""
    if request.param == "sqlite":
        url, dags = world_copy(template, tmp_path / "loom.db"), template / "dags"
    else:
        url = request.getfixturevalue("postgres_url")
        dags = build_world(url, tmp_path / "dags").dags_folder
    app = app_for(url, tmp_path, dags, core={"dags_folder": str(dags), "fernet_key": KEY})
    return url, app.test_client()


def admin(client: FlaskClient) -> dict[str, str]:
    return bearer(login(client, USERNAMES["Admin"])["access_token"])


def raw(url: str, sql: str) -> Any:
    with database_sessions(url) as sessions, sessions() as session:
        return session.execute(sa.text(sql)).one()


def test_variables(world: tuple[str, FlaskClient]) -> None:
    url, client = world
    h = admin(client)
    made = client.post("/api/v2/variables", json={"key": "bucket", "value": "raw-eu"}, headers=h)
    assert made.status_code == 201, made.get_json()
    assert made.get_json() == {
        "key": "bucket",
        "value": "raw-eu",
        "description": None,
        "is_encrypted": True,
    }
    val, _ = raw(url, "SELECT val, is_encrypted FROM variable WHERE key = 'bucket'")
    assert "raw-eu" not in val
    assert Fernet(KEY.encode()).decrypt(val.encode()) == b"raw-eu"
    secret = {"key": "db_password", "value": "hunter22-xyz"}
    assert client.post("/api/v2/variables", json=secret, headers=h).get_json()["value"] == "***"
    listed = client.get("/api/v2/variables", headers=h).get_json()
    values = {v["key"]: v["value"] for v in listed["variables"]}
    assert values["bucket"] == "raw-eu"
    assert values["db_password"] == values["api_token"] == "***"
    assert values["region"] == "eu-west-1"  # stored before, without a key: still readable
    patched = client.patch(
        "/api/v2/variables/bucket", json={"key": "bucket", "value": "raw-us"}, headers=h
    )
    assert patched.get_json()["value"] == "raw-us"
    again = client.post("/api/v2/variables", json={"key": "bucket", "value": "x"}, headers=h)
    assert again.status_code == 409
    assert client.post("/api/v2/variables", json={"key": ""}, headers=h).status_code == 422
    nul = client.post("/api/v2/variables", json={"key": "k\x00", "value": "v"}, headers=h)
    assert nul.status_code == 422
    assert "NUL" in nul.get_json()["message"]
    assert client.delete("/api/v2/variables/bucket", headers=h).status_code == 204
    assert client.get("/api/v2/variables/bucket", headers=h).status_code == 404
    audit = client.get(AUDIT, headers=h).get_data(as_text=True)
    assert "/api/v2/variables/bucket" in audit  # the change is audited, its value is not
    assert "hunter22-xyz" not in audit
    assert "raw-eu" not in audit


def test_connections(world: tuple[str, FlaskClient]) -> None:
    url, client = world
    h = admin(client)
    body = {
        "connection_id": "api",
        "conn_type": "http",
        "host": "api.example",
        "password": "s3cret-pw",
        "extra": '{"api_key": "k-123456", "timeout": "5"}',
    }
    made = client.post("/api/v2/connections", json=body, headers=h)
    assert made.status_code == 201, made.get_json()
    shown = made.get_json()
    assert shown["password"] == "***"
    assert shown["extra"] == '{"api_key": "***", "timeout": "5"}'
    password, extra = raw(url, "SELECT password, extra FROM connection WHERE conn_id = 'api'")
    assert "s3cret-pw" not in password
    assert "k-123456" not in extra
    listed = client.get("/api/v2/connections", headers=h).get_json()["connections"]
    assert [c["connection_id"] for c in listed] == ["api", "warehouse"]
    assert all(c["password"] == "***" for c in listed)
    replaced = client.patch(
        "/api/v2/connections/api",
        json={"connection_id": "api", "conn_type": "http", "host": "other"},
        headers=h,
    )
    assert replaced.get_json()["host"] == "other"
    assert replaced.get_json()["password"] is None
    assert client.post("/api/v2/connections", json=body, headers=h).status_code == 409
    bad_port = {**body, "connection_id": "p", "port": 70000}
    assert client.post("/api/v2/connections", json=bad_port, headers=h).status_code == 422
    mismatch = client.patch(
        "/api/v2/connections/api", json={**body, "connection_id": "x"}, headers=h
    )
    assert mismatch.status_code == 422
    assert client.delete("/api/v2/connections/api", headers=h).status_code == 204
    assert client.get("/api/v2/connections/api", headers=h).status_code == 404
    audit = client.get(AUDIT, headers=h).get_data(as_text=True)
    assert "/api/v2/connections/api" in audit
    assert "s3cret-pw" not in audit
