"""Sign-in, tokens, revocation (logout, password change, disable), audit (throttling:
test_login_throttle.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.errors import ConfigError
from engine.models import AuditLog
from tests.support.settings import make_settings
from tests.webui.conftest import bearer, login
from tests.webui.world import PASSWORD, SECRET
from webui import create_app, db

LOGIN = "/auth/token"
ME = "/auth/me"
REFRESH = "/auth/refresh"
LOGOUT = "/auth/logout"


def audit_entries(app: Flask) -> list[AuditLog]:
    with app.app_context():
        rows = list(db.session().scalars(sa.select(AuditLog).order_by(AuditLog.id)))
        db.session().close()
    return rows


def test_login_gives_tokens_that_identify_the_user(client: FlaskClient) -> None:
    tokens = login(client, "op")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60
    me = client.get(ME, headers=bearer(tokens["access_token"])).get_json()
    assert me["username"] == "op"
    assert me["roles"] == ["Op"]
    assert "edit:pools" in me["permissions"]
    assert "read:users" not in me["permissions"]


def test_a_wrong_password_or_unknown_user_gets_401_in_the_error_shape(client: FlaskClient) -> None:
    for username, password in (("op", "wrong-password"), ("nobody", PASSWORD)):
        response = client.post(LOGIN, json={"username": username, "password": password})
        assert response.status_code == 401
        assert response.get_json() == {
            "code": 401,
            "message": "invalid username or password",
            "detail": "invalid username or password",
            "errors": {},
        }


def test_refresh_token_gives_a_new_access_token_and_is_not_an_access_token(
    client: FlaskClient,
) -> None:
    tokens = login(client, "viewer")
    assert client.get(ME, headers=bearer(tokens["refresh_token"])).status_code == 401
    response = client.post(REFRESH, headers=bearer(tokens["refresh_token"]))
    assert response.status_code == 200
    assert client.get(ME, headers=bearer(response.get_json()["access_token"])).status_code == 200
    refresh_with_access = client.post(REFRESH, headers=bearer(tokens["access_token"]))
    assert refresh_with_access.status_code == 401


def test_logout_revokes_access_and_refresh_tokens_at_once(client: FlaskClient) -> None:
    tokens = login(client, "user")
    other = login(client, "user")  # another sign-in of the same user stays valid
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 200
    assert client.get(ME, headers=bearer(tokens["access_token"])).status_code == 401
    refresh = client.post(REFRESH, headers=bearer(tokens["refresh_token"]))
    assert refresh.status_code == 401
    assert client.get(ME, headers=bearer(other["access_token"])).status_code == 200


def test_revocation_holds_in_another_app_on_the_same_database(app: Flask, tmp_path: Path) -> None:
    """Two webserver processes (two apps) share revocations through the database."""
    client = app.test_client()
    tokens = login(client, "user")
    client.post(LOGOUT, headers=bearer(tokens["access_token"]))
    settings = app.extensions["loom.settings"]
    second = create_app({"TESTING": True, "LOOM_SETTINGS": settings}).test_client()
    assert second.get(ME, headers=bearer(tokens["access_token"])).status_code == 401


def test_a_password_change_revokes_the_users_tokens(
    client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    victim = login(client, "victim")
    response = client.patch(
        "/api/v2/users/victim", json={"password": "a-new-password!"}, headers=as_role("Admin")
    )
    assert response.status_code == 200
    assert client.get(ME, headers=bearer(victim["access_token"])).status_code == 401
    assert client.post(REFRESH, headers=bearer(victim["refresh_token"])).status_code == 401
    assert login(client, "victim", "a-new-password!")["access_token"]


def test_a_disabled_user_loses_tokens_and_cannot_sign_in(
    client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    victim = login(client, "victim")
    response = client.post("/api/v2/users/victim/disable", headers=as_role("Admin"))
    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    assert client.get(ME, headers=bearer(victim["access_token"])).status_code == 401
    denied = client.post(LOGIN, json={"username": "victim", "password": PASSWORD})
    assert denied.status_code == 401


def test_an_expired_access_token_is_refused(app: Flask, template: Path, tmp_path: Path) -> None:
    settings = make_settings(
        app.extensions["loom.settings"].database.url,
        tmp_path / "home",
        dags_folder=template / "dags",
        secret_key=SECRET,
        webserver={"access_token_ttl": "1"},
    )
    short = create_app({"TESTING": True, "LOOM_SETTINGS": settings})
    client = short.test_client()
    tokens = login(client, "viewer")
    import time

    time.sleep(2.1)
    response = client.get(ME, headers=bearer(tokens["access_token"]))
    assert response.status_code == 401
    assert response.get_json()["message"] == "token has expired"


def test_logins_and_mutations_are_audited_with_user_source_and_outcome(
    app: Flask, client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    client.post(LOGIN, json={"username": "op", "password": "wrong-password"})
    headers = as_role("Op")
    client.post("/api/v2/pools", json={"name": "fresh", "slots": 1}, headers=headers)
    client.post(
        "/api/v2/users",
        json={"username": "x", "password": PASSWORD, "roles": ["Viewer"]},
        headers=headers,
    )
    client.get("/api/v2/pools", headers=headers)  # reads are not audited
    rows = [(e.username, e.action, e.outcome, e.target) for e in audit_entries(app)]
    assert rows == [
        ("op", "auth.token", "denied", "/auth/token"),
        ("op", "auth.token", "success", "/auth/token"),
        ("op", "pools.create", "success", "/api/v2/pools"),
        ("op", "users.create", "denied", "/api/v2/users"),
    ]
    assert all(e.source_ip == "127.0.0.1" and e.created_at for e in audit_entries(app))
    assert audit_entries(app)[0].details["login"] == "bad_credentials"


def test_the_audit_log_is_read_only_and_filterable(
    client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    admin = as_role("Admin")
    client.post(LOGIN, json={"username": "viewer", "password": "wrong-password"})
    page = client.get("/api/v2/auditLog?outcome=denied", headers=admin).get_json()
    assert [e["username"] for e in page["audit_log"]] == ["viewer"]
    assert page["total_entries"] == 1
    assert client.post("/api/v2/auditLog", json={}, headers=admin).status_code == 405
    assert client.delete("/api/v2/auditLog", headers=admin).status_code == 405


def test_refresh_and_logout_are_audited(app: Flask, client: FlaskClient) -> None:
    tokens = login(client, "user")
    assert client.post(REFRESH, headers=bearer(tokens["refresh_token"])).status_code == 200
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 200
    rows = [(e.username, e.action, e.outcome, e.target) for e in audit_entries(app)]
    assert rows[-2:] == [
        ("user", "auth.refresh", "success", "/auth/refresh"),
        ("user", "auth.logout", "success", "/auth/logout"),
    ]


@pytest.mark.parametrize("secret", ["", "too-short"])
def test_the_app_refuses_to_start_without_a_usable_secret(
    template: Path, tmp_path: Path, secret: str
) -> None:
    settings = make_settings(
        "sqlite:///:memory:", tmp_path, dags_folder=template / "dags", secret_key=secret
    )
    with pytest.raises(ConfigError, match=r"webserver\.secret_key"):
        create_app(settings)
