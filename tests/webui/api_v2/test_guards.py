"""/api/v2's guards: a token for every operation but login, version and health; token
sign-ins throttled; every sign-in and change audited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models.security import AuditLog
from tests.webui.conftest import template_app
from tests.webui.spec import operations
from tests.webui.world import PASSWORD
from webui import db

PUBLIC = {"/auth/token", "/auth/token/cli", "/api/v2/version", "/api/v2/monitor/health"}
OPERATIONS = operations("v2")


def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in OPERATIONS])
def test_every_operation_but_login_and_monitoring_needs_a_token(
    client: FlaskClient, method: str, path: str
) -> None:
    response = client.open(_path(path), method=method.upper(), json={})
    if path in PUBLIC:
        assert response.status_code != 401
    else:
        assert response.status_code == 401
        assert response.get_json()["detail"]


def test_token_logins_are_throttled(template: Path, tmp_path: Path) -> None:
    app = template_app(template, tmp_path, login={"client_limit": "2 per minute"})
    client = app.test_client()
    wrong = {"username": "op", "password": "wrong-password"}
    assert client.post("/auth/token", json=wrong).status_code == 401
    assert client.post("/auth/token/cli", json=wrong).status_code == 401
    refused = client.post("/auth/token", json={"username": "admin", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
    assert refused.get_json()["detail"].startswith("too many sign-in attempts")


def test_token_logins_and_changes_are_audited(app: Flask, client: FlaskClient) -> None:
    assert (
        client.post("/auth/token", json={"username": "op", "password": "nope"}).status_code == 401
    )
    token = client.post("/auth/token", json={"username": "op", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    paused = client.patch("/api/v2/dags/example", json={"is_paused": True}, headers=headers)
    assert paused.status_code == 200
    with app.app_context():
        rows = db.session().execute(sa.select(AuditLog.target, AuditLog.outcome, AuditLog.username))
        entries = set(rows)
        db.session().close()
    assert ("/auth/token", "denied", "op") in entries
    assert ("/auth/token", "success", "op") in entries
    assert ("/api/v2/dags/example", "success", "op") in entries
