"""The last-admin guard through the API and the UI: no change may leave no active Admin
who sees every DAG, and a refused change changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import Role
from engine.security.admins import LAST_ADMIN
from tests.webui.admin import in_db, text_of, user_of
from tests.webui.conftest import bearer, login
from tests.webui.ui import ui_sign_in
from tests.webui.world import PASSWORD

Headers = Callable[[str], dict[str, str]]
ALL = "/api/v2/permissions"


def _refused(reply: Any) -> None:
    assert reply.status_code == 409, reply.get_json()
    assert reply.get_json()["message"] == LAST_ADMIN


def _user(client: FlaskClient, admin: dict[str, str], name: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v2/users/{name}", headers=admin).get_json()
    return body


def _add_user(client: FlaskClient, admin: dict[str, str], name: str, role: str) -> None:
    body = {"username": name, "password": PASSWORD, "roles": [role]}
    assert client.post("/api/v2/users", json=body, headers=admin).status_code == 201


def test_the_only_admin_cannot_demote_themselves(client: FlaskClient, as_role: Headers) -> None:
    admin = as_role("Admin")
    _refused(client.patch("/api/v2/users/admin", json={"roles": ["Viewer"]}, headers=admin))
    assert _user(client, admin, "admin")["roles"] == ["Admin"]


def test_the_admin_role_cannot_be_scoped_away(client: FlaskClient, as_role: Headers) -> None:
    admin = as_role("Admin")
    for tags in (["etl"], ["no-such-tag"]):
        _refused(client.patch("/api/v2/roles/Admin", json={"dag_tags": tags}, headers=admin))
    assert client.get("/api/v2/roles/Admin", headers=admin).get_json()["dag_tags"] == []


def test_nobody_disables_or_deletes_the_last_admin(client: FlaskClient, as_role: Headers) -> None:
    admin = as_role("Admin")
    grants = [{"action": action, "resource": "users"} for action in ("read", "edit", "delete")]
    role = {"name": "UserKeeper", "permissions": grants}
    assert client.post("/api/v2/roles", json=role, headers=admin).status_code == 201
    _add_user(client, admin, "keeper", "UserKeeper")
    keeper = bearer(login(client, "keeper")["access_token"])

    _refused(client.post("/api/v2/users/admin/disable", headers=keeper))
    _refused(client.patch("/api/v2/users/admin", json={"is_active": False}, headers=keeper))
    _refused(client.delete("/api/v2/users/admin", headers=keeper))
    assert _user(client, admin, "admin")["is_active"] is True


def test_a_second_unscoped_admin_lets_the_first_change(
    client: FlaskClient, as_role: Headers
) -> None:
    admin = as_role("Admin")
    everything = client.get(ALL, headers=admin).get_json()["permissions"]
    role = {"name": "Root", "permissions": everything}
    assert client.post("/api/v2/roles", json=role, headers=admin).status_code == 201
    _add_user(client, admin, "root", "Root")

    scoped = client.patch("/api/v2/roles/Admin", json={"dag_tags": ["etl"]}, headers=admin)
    assert scoped.status_code == 200  # root still sees every DAG
    _refused(client.patch("/api/v2/roles/Root", json={"dag_tags": ["etl"]}, headers=admin))
    fewer = {"permissions": everything[1:]}
    _refused(client.patch("/api/v2/roles/Root", json=fewer, headers=admin))
    _refused(client.delete("/api/v2/roles/Root", headers=admin))

    root = bearer(login(client, "root")["access_token"])
    _refused(client.patch("/api/v2/users/root", json={"roles": ["Admin"]}, headers=root))
    assert (
        client.patch("/api/v2/roles/Admin", json={"dag_tags": []}, headers=root).status_code == 200
    )
    assert (
        client.patch("/api/v2/users/root", json={"roles": ["Op"]}, headers=root).status_code == 200
    )


def test_the_ui_refuses_next_to_the_form(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    admin_tags = sa.select(Role.dag_tags).where(Role.name == "Admin")

    demote = {"csrf_token": csrf, "roles": ["Viewer"], "is_active": "true"}
    reply = client.post("/users/admin", data=demote)
    assert reply.status_code == 409
    assert LAST_ADMIN in text_of(reply)
    user = user_of(app, "admin")
    assert user is not None
    assert user["roles"] == ["Admin"]

    scope = {"csrf_token": csrf, "description": "Everything", "dag_tags": "etl"}
    reply = client.post("/roles/Admin", data=scope)
    assert reply.status_code == 409
    assert LAST_ADMIN in text_of(reply)
    assert 'value="etl"' in text_of(reply)  # what was typed is shown again
    assert in_db(app, lambda s: s.scalars(admin_tags).one()) == []
