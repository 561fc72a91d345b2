"""The Roles pages: the permission matrix, custom roles, built-in roles kept."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webui.admin import field_error, role_of, row_of, text_of
from tests.webui.ui import page_as, ui_sign_in


def test_role_list_shows_the_permission_matrix(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/roles")
    assert "<h1>Roles</h1>" in page
    for role in ("Viewer", "User", "Op", "Admin", "Custom", "EtlViewer"):
        assert f'data-role="{role}"' in page
    assert "etl" in row_of(page, 'data-role="EtlViewer"')
    assert "every DAG" in row_of(page, 'data-role="Op"')
    matrix = page.split('class="matrix roles-matrix"')[1]
    dead_letters_row = re.search(
        r"<th scope=\"row\">dead letters</th>(.*?)</tr>", matrix, re.DOTALL
    )
    assert dead_letters_row is not None
    cells = re.findall(r"<td>(.*?)</td>", dead_letters_row.group(1), re.DOTALL)
    # Admin, Custom, EtlViewer, Op, User, Viewer (by name)
    assert cells[0] == "all"
    assert cells[3] == "all"
    assert cells[4] == "read"


def test_role_page_shows_its_matrix(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/roles/Op")
    assert "Role Op" in page
    assert "Builtin roles cannot be deleted" in page
    assert 'title="edit pools: granted"' in page
    assert 'title="edit users: granted"' not in page
    assert 'name="permissions"' not in page  # a builtin role's permissions are fixed


def test_create_edit_and_delete_a_role(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    form = {
        "csrf_token": csrf,
        "name": "Pool keeper",
        "description": "Resizes pools",
        "dag_tags": "etl, finance",
        "permissions": ["read:pools", "edit:pools"],
    }
    reply = client.post("/roles", data=form)
    assert reply.status_code == 302
    assert role_of(app, "Pool keeper") == {
        "permissions": ["edit:pools", "read:pools"],
        "tags": ["etl", "finance"],
        "description": "Resizes pools",
    }
    page = text_of(client.get("/roles/Pool keeper"))
    assert 'name="permissions" value="edit:pools" aria-label="edit pools" checked' in page

    edit = {"csrf_token": csrf, "description": "Reads", "dag_tags": "", "permissions": "read:dags"}
    assert client.post("/roles/Pool keeper", data=edit).status_code == 302
    assert role_of(app, "Pool keeper") == {
        "permissions": ["read:dags"],
        "tags": [],
        "description": "Reads",
    }
    assert client.post("/roles/Pool keeper/delete", data={"csrf_token": csrf}).status_code == 302
    assert role_of(app, "Pool keeper") is None


def test_a_builtin_role_keeps_its_permissions(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    before = role_of(app, "Viewer")
    assert before is not None
    form = {
        "csrf_token": csrf,
        "description": "Reads",
        "dag_tags": "etl",
        "permissions": "edit:users",
    }
    assert client.post("/roles/Viewer", data=form).status_code == 302
    assert role_of(app, "Viewer") == {**before, "tags": ["etl"], "description": "Reads"}
    reply = client.post("/roles/Viewer/delete", data={"csrf_token": csrf})
    assert reply.status_code == 409
    assert "role &#39;Viewer&#39; is builtin and cannot be deleted" in text_of(reply)
    assert role_of(app, "Viewer") is not None


@pytest.mark.parametrize(
    ("form", "status", "field", "message"),
    [
        ({"name": "Viewer"}, 409, "name", "exists already"),
        ({"name": "!bad"}, 422, "name", "is not a valid role name"),
        ({"name": "Flyer", "permissions": "fly:dags"}, 422, "permissions", "not in the catalogue"),
    ],
)
def test_bad_role_input_is_shown_next_to_its_field(
    app: Flask, client: FlaskClient, form: dict[str, str], status: int, field: str, message: str
) -> None:
    csrf = ui_sign_in(client, "Admin")
    before = role_of(app, "Viewer")
    reply = client.post("/roles", data={"csrf_token": csrf, **form})
    assert reply.status_code == status
    assert message in field_error(text_of(reply), f"role-{field}")
    assert role_of(app, "Flyer") is None
    assert role_of(app, "Viewer") == before


def test_unknown_role_is_a_404_page(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/roles/Nobody", status=404)
    assert "no role &#39;Nobody&#39;" in page


# -- who may: pages, hidden controls, forged posts, CSRF --------------------------------------
