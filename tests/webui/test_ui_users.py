"""The Users pages: list, create, edit, delete, and nobody locks themselves out."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.security.passwords import verify_password
from tests.webui.admin import NEW_PASSWORD, field_error, row_of, text_of, user_of
from tests.webui.ui import page_as, ui_sign_in
from tests.webui.world import PASSWORD


def test_user_list(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/users")
    assert "<h1>Users</h1>" in page
    row = row_of(page, 'data-user="viewer"')
    assert "Viewer" in row
    assert "active" in row
    assert "never" in row  # the viewer never signed in
    assert "never" not in row_of(page, 'data-user="admin"')
    assert "Create user" in page


def test_create_user(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    form = {
        "csrf_token": csrf,
        "username": "carol",
        "email": "carol@example.com",
        "password": PASSWORD,
        "roles": ["Viewer", "Op"],
    }
    reply = client.post("/users", data=form)
    assert reply.status_code == 302
    assert "user carol created" in text_of(client.get("/users"))
    carol = user_of(app, "carol")
    assert carol is not None
    assert carol["roles"] == ["Op", "Viewer"]
    assert carol["email"] == "carol@example.com"


@pytest.mark.parametrize(
    ("form", "status", "field", "message"),
    [
        ({"username": "carol", "password": "short", "roles": "Op"}, 422, "password", "at least 8"),
        ({"username": "carol", "password": PASSWORD}, 422, "roles", "choose at least one role"),
        ({"username": "ca rol", "password": PASSWORD, "roles": "Op"}, 422, "username", "valid"),
        ({"username": "viewer", "password": PASSWORD, "roles": "Op"}, 409, "username", "exists"),
        ({"username": "carol", "password": PASSWORD, "roles": "Nope"}, 422, "roles", "unknown"),
    ],
)
def test_bad_user_input_is_shown_next_to_its_field(
    app: Flask, client: FlaskClient, form: dict[str, str], status: int, field: str, message: str
) -> None:
    csrf = ui_sign_in(client, "Admin")
    reply = client.post("/users", data={"csrf_token": csrf, **form})
    assert reply.status_code == status
    assert message in field_error(text_of(reply), f"user-{field}")
    assert user_of(app, "carol") is None


def test_edit_user_roles_active_flag_and_password(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    before = user_of(app, "victim")
    assert before is not None
    page = text_of(client.get("/users/victim"))
    assert "User victim" in page
    form = {
        "csrf_token": csrf,
        "roles": ["User"],
        "email": "v@example.com",
        "password": NEW_PASSWORD,
    }
    reply = client.post("/users/victim", data=form)  # is_active unticked: disabled
    assert reply.status_code == 302
    after = user_of(app, "victim")
    assert after is not None
    assert after["roles"] == ["User"]
    assert after["active"] is False
    assert after["email"] == "v@example.com"
    assert verify_password(after["hash"], NEW_PASSWORD)
    assert after["token_version"] > before["token_version"]


def test_bad_user_edit_changes_nothing(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    before = user_of(app, "victim")
    form = {"csrf_token": csrf, "roles": ["Nope"], "is_active": "true", "password": NEW_PASSWORD}
    reply = client.post("/users/victim", data=form)
    assert reply.status_code == 422
    assert "unknown role(s): Nope" in text_of(reply)
    assert user_of(app, "victim") == before


def test_an_admin_cannot_lock_themselves_out(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    page = text_of(client.get("/users/admin"))
    assert ">Delete user</button>" not in page
    reply = client.post("/users/admin", data={"csrf_token": csrf, "roles": ["Admin"]})
    assert reply.status_code == 409
    assert re.search(r'id="user-active-error">you cannot disable yourself', text_of(reply))
    deleted = client.post("/users/admin/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 409
    assert "you cannot delete yourself" in text_of(deleted)
    admin = user_of(app, "admin")
    assert admin is not None
    assert admin["active"] is True


def test_delete_user(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    assert ">Delete user</button>" in text_of(client.get("/users/victim"))
    assert client.post("/users/victim/delete", data={"csrf_token": csrf}).status_code == 302
    assert user_of(app, "victim") is None


def test_unknown_user_is_a_404_page(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/users/nobody", status=404)
    assert "no user &#39;nobody&#39;" in page


# -- roles ------------------------------------------------------------------------------------
