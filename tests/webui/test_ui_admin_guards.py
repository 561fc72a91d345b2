"""Who may open and use the admin pages: menus, 403s, forged posts, CSRF."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webui.admin import (
    letter_state,
    pools_of,
    role_of,
    text_of,
    user_of,
)
from tests.webui.ui import ui_sign_in
from tests.webui.world import PASSWORD


@pytest.mark.parametrize("path", ["/audit", "/users", "/users/viewer", "/roles", "/roles/Op"])
def test_admin_only_pages_are_refused_to_op_and_not_in_the_menu(
    client: FlaskClient, path: str
) -> None:
    ui_sign_in(client, "Op")
    assert client.get(path).status_code == 403
    menu = text_of(client.get("/dead-letters"))
    assert ">Dead letters</a>" in menu
    assert ">Pools</a>" in menu
    for hidden in (">Audit log</a>", ">Users</a>", ">Roles</a>"):
        assert hidden not in menu


def test_admin_sees_every_admin_page(client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    for path, heading in [
        ("/pools", "Pools"),
        ("/audit", "Audit log"),
        ("/users", "Users"),
        ("/roles", "Roles"),
    ]:
        reply = client.get(path)
        assert reply.status_code == 200
        assert f"<h1>{heading}</h1>" in text_of(reply)
        assert f">{heading}</a>" in text_of(reply)


FORGED = [
    ("Viewer", "/pools", {"name": "gpu", "slots": "1"}),
    ("User", "/pools/etl", {"slots": "99", "description": ""}),
    ("User", "/pools/etl/delete", {}),
    ("Op", "/users", {"username": "carol", "password": PASSWORD, "roles": "Admin"}),
    ("Op", "/users/viewer", {"roles": "Admin", "is_active": "true"}),
    ("Op", "/users/victim/delete", {}),
    ("Op", "/roles", {"name": "Mine", "permissions": "edit:users"}),
    ("Op", "/roles/Custom", {"permissions": "edit:users"}),
    ("Op", "/roles/Custom/delete", {}),
]


def snapshot(app: Flask) -> tuple[Any, ...]:
    return (
        pools_of(app),
        user_of(app, "carol"),
        user_of(app, "viewer"),
        user_of(app, "victim"),
        role_of(app, "Mine"),
        role_of(app, "Custom"),
    )


@pytest.mark.parametrize(("role", "path", "form"), FORGED)
def test_forged_posts_are_refused_and_change_nothing(
    app: Flask, client: FlaskClient, role: str, path: str, form: dict[str, str]
) -> None:
    csrf = ui_sign_in(client, role)
    before = snapshot(app)
    reply = client.post(path, data={"csrf_token": csrf, **form})
    assert reply.status_code == 403
    assert snapshot(app) == before


def test_user_sees_a_pool_without_its_controls(client: FlaskClient) -> None:
    ui_sign_in(client, "User")
    page = text_of(client.get("/pools/etl"))
    assert "Pool etl" in page
    assert ">Save</button>" not in page
    assert ">Delete pool</button>" not in page


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/dead-letters/1/replay", {}),
        ("/dead-letters/1/discard", {}),
        ("/pools", {"name": "gpu", "slots": "1"}),
        ("/pools/etl/delete", {}),
        ("/users", {"username": "carol", "password": PASSWORD, "roles": "Viewer"}),
        ("/users/victim/delete", {}),
        ("/roles", {"name": "Mine", "permissions": "read:dags"}),
        ("/roles/Custom/delete", {}),
    ],
)
def test_posts_without_csrf_token_are_refused(
    app: Flask, client: FlaskClient, path: str, form: dict[str, str]
) -> None:
    ui_sign_in(client, "Admin")
    before = snapshot(app), letter_state(app)
    reply = client.post(path, data=form)
    assert reply.status_code == 400
    assert "CSRF token" in text_of(reply)
    assert (snapshot(app), letter_state(app)) == before
