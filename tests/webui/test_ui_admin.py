"""The admin pages of the web UI: dead letters, pools, the audit log, users and roles."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine import audit
from engine.models import AuditLog, DeadLetter, Pool, Role, TaskInstance, User, utcnow
from engine.security.passwords import verify_password
from engine.security.roles import create_role
from engine.security.users import create_user
from engine.state import TaskInstanceState
from tests.webui.ui import ui_sign_in
from tests.webui.world import PASSWORD
from webui import db

NEW_PASSWORD = "a-brand-new-password"
FAILED_ONCE = ("failed", 1, 1)
"""The world's ``extract`` task instance: state, try number, max tries."""


def in_db(app: Flask, read: Callable[[Any], Any]) -> Any:
    """What ``read(session)`` finds in the app's database now."""
    with app.app_context():
        return read(db.session())


def letter_state(app: Flask) -> str:
    return str(in_db(app, lambda s: s.scalars(sa.select(DeadLetter.state)).one()))


def letter_id(app: Flask) -> int:
    return int(in_db(app, lambda s: s.scalars(sa.select(DeadLetter.id)).one()))


def extract(app: Flask) -> tuple[str, int, int]:
    def read(session: Any) -> tuple[str, int, int]:
        ti = session.scalars(
            sa.select(TaskInstance).where(
                TaskInstance.dag_id == "example", TaskInstance.task_id == "extract"
            )
        ).one()
        return str(ti.state), ti.try_number, ti.max_tries

    return in_db(app, read)  # type: ignore[no-any-return]


def pools_of(app: Flask) -> dict[str, tuple[int, str | None]]:
    rows = in_db(app, lambda s: s.execute(sa.select(Pool.name, Pool.slots, Pool.description)).all())
    return {name: (slots, description) for name, slots, description in rows}


def user_of(app: Flask, username: str) -> dict[str, Any] | None:
    def read(session: Any) -> dict[str, Any] | None:
        user = session.scalars(sa.select(User).where(User.username == username)).one_or_none()
        if user is None:
            return None
        return {
            "roles": [r.name for r in user.roles],
            "active": user.is_active,
            "email": user.email,
            "hash": user.password_hash,
            "token_version": user.token_version,
        }

    return in_db(app, read)  # type: ignore[no-any-return]


def role_of(app: Flask, name: str) -> dict[str, Any] | None:
    def read(session: Any) -> dict[str, Any] | None:
        role = session.scalars(sa.select(Role).where(Role.name == name)).one_or_none()
        if role is None:
            return None
        return {
            "permissions": sorted(f"{p.action}:{p.resource}" for p in role.permissions),
            "tags": list(role.dag_tags),
            "description": role.description,
        }

    return in_db(app, read)  # type: ignore[no-any-return]


def row_of(html: str, marker: str) -> str:
    """The table row carrying ``marker`` (a data attribute)."""
    match = re.search(rf"<tr {marker}>(.*?)</tr>", html, re.DOTALL)
    assert match is not None, f"no row {marker}"
    return match.group(1)


def text_of(reply: Any) -> str:
    return str(reply.get_data(as_text=True))


# -- dead letters -----------------------------------------------------------------------------


def test_dead_letter_list_shows_pending_letters_whose_first_link_opens_the_detail(
    app: Flask, client: FlaskClient
) -> None:
    ui_sign_in(client, "Viewer")
    id = letter_id(app)
    page = text_of(client.get("/dead-letters"))
    assert "<h1>Dead letters</h1>" in page
    row = row_of(page, f'data-dead-letter="{id}"')
    first_link = re.search(r'href="([^"]+)"', row)
    assert first_link is not None
    assert first_link.group(1) == f"/dead-letters/{id}"
    for shown in ("example", "manual__1", "/dags/example/runs/manual__1", "extract", "ValueError"):
        assert shown in row
    assert "pending" in row
    assert 'data-dead-letter="' not in text_of(client.get("/dead-letters?status=replayed"))
    assert f'data-dead-letter="{id}"' in text_of(client.get("/dead-letters?status=all"))


def test_dead_letter_list_pages_and_refuses_an_unknown_status(client: FlaskClient) -> None:
    ui_sign_in(client, "Op")
    refused = client.get("/dead-letters?status=lost")
    assert refused.status_code == 422
    assert "status: &#39;lost&#39; is not one of" in text_of(refused)
    assert 'data-dead-letter="' not in text_of(client.get("/dead-letters?offset=50"))


def test_dead_letter_detail_shows_the_message_and_the_actions(
    app: Flask, client: FlaskClient
) -> None:
    ui_sign_in(client, "Op")
    page = text_of(client.get(f"/dead-letters/{letter_id(app)}"))
    for shown in ("boom", "ValueError", "w1", '"n": 2', "No traceback was recorded"):
        assert shown in page
    assert "/dags/example/runs/manual__1/tasks/extract" in page
    assert ">Replay</button>" in page
    assert ">Discard</button>" in page
    assert "data-confirm=" in page


def test_replay_runs_the_task_again_with_fresh_tries(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    id = letter_id(app)
    assert extract(app) == FAILED_ONCE
    reply = client.post(f"/dead-letters/{id}/replay", data={"csrf_token": csrf})
    assert reply.status_code == 302
    assert reply.headers["Location"] == f"/dead-letters/{id}"
    page = text_of(client.get(reply.headers["Location"]))
    assert f"dead letter {id} replayed: example.extract runs again with fresh tries" in page
    assert ">Replay</button>" not in page
    assert letter_state(app) == "replayed"
    state, try_number, max_tries = extract(app)
    assert state == "none"
    assert max_tries > try_number


def test_discard_resolves_without_running_again(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    id = letter_id(app)
    reply = client.post(f"/dead-letters/{id}/discard", data={"csrf_token": csrf})
    assert reply.status_code == 302
    assert "discarded" in text_of(client.get(reply.headers["Location"]))
    assert letter_state(app) == "discarded"
    assert extract(app) == FAILED_ONCE


def test_replaying_a_resolved_dead_letter_is_a_clear_error(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    id = letter_id(app)
    client.post(f"/dead-letters/{id}/discard", data={"csrf_token": csrf})
    reply = client.post(f"/dead-letters/{id}/replay", data={"csrf_token": csrf})
    assert reply.status_code == 409
    assert f"dead letter {id} is discarded already" in text_of(reply)
    assert letter_state(app) == "discarded"
    assert extract(app) == FAILED_ONCE


@pytest.mark.parametrize(("role", "action"), [("Viewer", "replay"), ("User", "discard")])
def test_roles_without_dead_letter_rights_see_no_actions_and_are_refused(
    app: Flask, client: FlaskClient, role: str, action: str
) -> None:
    csrf = ui_sign_in(client, role)
    id = letter_id(app)
    page = text_of(client.get(f"/dead-letters/{id}"))
    assert "boom" in page
    assert ">Replay</button>" not in page
    assert ">Discard</button>" not in page
    assert client.post(f"/dead-letters/{id}/{action}", data={"csrf_token": csrf}).status_code == 403
    assert letter_state(app) == "pending"
    assert extract(app) == FAILED_ONCE


def test_dead_letters_of_dags_outside_the_tag_scope_are_hidden(
    app: Flask, client: FlaskClient
) -> None:
    def finance_reader(session: Any) -> None:
        create_role(
            session=session,
            name="FinanceViewer",
            permissions=[("read", "dags"), ("read", "dead_letters")],
            dag_tags=["finance"],
        )
        create_user(
            session=session, username="fin", password=PASSWORD, role_names=["FinanceViewer"]
        )
        session.commit()

    in_db(app, finance_reader)
    ui_sign_in(client, "fin")
    assert 'data-dead-letter="' not in text_of(client.get("/dead-letters"))
    assert client.get(f"/dead-letters/{letter_id(app)}").status_code == 404


def test_unknown_dead_letter_is_a_404_page(client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    for reply in (
        client.get("/dead-letters/9999"),
        client.post("/dead-letters/9999/replay", data={"csrf_token": csrf}),
    ):
        assert reply.status_code == 404
        assert "dead letter 9999 not found" in text_of(reply)


# -- pools ------------------------------------------------------------------------------------


def test_pool_list_shows_slots_in_use(app: Flask, client: FlaskClient) -> None:
    def queue_load(session: Any) -> None:
        session.execute(
            sa.update(TaskInstance)
            .where(TaskInstance.task_id == "load")
            .values(state=TaskInstanceState.QUEUED, pool="etl", pool_slots=3)
        )
        session.commit()

    in_db(app, queue_load)
    ui_sign_in(client, "Viewer")
    page = text_of(client.get("/pools"))
    assert "<h1>Pools</h1>" in page
    row = row_of(page, 'data-pool="etl"')
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
    assert [c.strip() for c in cells[1:6]] == ["4", "0", "3", "1", "ETL jobs"]
    assert 'data-pool="default_pool"' in page
    assert "Create pool" not in page
    assert "Delete pool etl" not in page


def test_pool_create_edit_and_delete(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    page = text_of(client.get("/pools"))
    assert "Create pool" in page
    assert 'aria-label="Delete pool etl"' in page
    assert 'aria-label="Delete pool default_pool"' not in page
    form = {"csrf_token": csrf, "name": "gpu", "slots": "2", "description": "The GPU box"}
    reply = client.post("/pools", data=form)
    assert reply.status_code == 302
    assert "pool gpu created" in text_of(client.get("/pools"))
    assert pools_of(app)["gpu"] == (2, "The GPU box")

    assert "Pool gpu" in text_of(client.get("/pools/gpu"))
    edit = {"csrf_token": csrf, "slots": "5", "description": "Two GPUs"}
    assert client.post("/pools/gpu", data=edit).status_code == 302
    assert pools_of(app)["gpu"] == (5, "Two GPUs")

    assert client.post("/pools/gpu/delete", data={"csrf_token": csrf}).status_code == 302
    assert "gpu" not in pools_of(app)


@pytest.mark.parametrize(
    ("url", "form", "status", "message"),
    [
        ("/pools", {"name": "gpu", "slots": "-1"}, 422, "must be 0 or more"),
        ("/pools", {"name": "gpu", "slots": "many"}, 422, "must be a whole number"),
        ("/pools", {"name": "bad name!", "slots": "1"}, 422, "is not a valid pool name"),
        ("/pools", {"name": "etl", "slots": "9"}, 409, "pool &#39;etl&#39; exists already"),
        ("/pools/etl", {"slots": "-3", "description": "x"}, 422, "must be 0 or more"),
        ("/pools/default_pool/delete", {}, 409, "default_pool cannot be deleted"),
    ],
)
def test_bad_pool_input_is_shown_and_changes_nothing(
    app: Flask, client: FlaskClient, url: str, form: dict[str, str], status: int, message: str
) -> None:
    csrf = ui_sign_in(client, "Op")
    before = pools_of(app)
    reply = client.post(url, data={"csrf_token": csrf, **form})
    assert reply.status_code == status
    page = text_of(reply)
    assert message in page
    assert 'class="field-error"' in page or 'class="flash error"' in page
    assert pools_of(app) == before


def test_a_refused_pool_form_keeps_what_was_typed(client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    reply = client.post(
        "/pools", data={"csrf_token": csrf, "name": "gpu", "slots": "-1", "description": "GPUs"}
    )
    page = text_of(reply)
    assert re.search(r'id="pool-slots-error">must be 0 or more<', page)
    assert 'value="GPUs"' in page
    assert 'aria-invalid="true"' in page


def test_unknown_pool_is_a_404_page(client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    reply = client.get("/pools/nowhere")
    assert reply.status_code == 404
    assert "no pool &#39;nowhere&#39;" in text_of(reply)


# -- the audit log ----------------------------------------------------------------------------


def test_audit_log_lists_ui_actions_newest_first(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Admin")
    client.post("/pools", data={"csrf_token": csrf, "name": "gpu", "slots": "1"})
    client.post("/dags/example/pause", data={"csrf_token": csrf, "paused": "true"})
    page = text_of(client.get("/audit"))
    assert "<h1>Audit log</h1>" in page
    assert page.index("ui.pause") < page.index("ui.create_pool")
    newest = re.search(r"<tr data-audit=\"\d+\">(.*?)</tr>", page, re.DOTALL)
    assert newest is not None
    for shown in ("admin", "ui.pause", "POST", "/dags/example/pause", "success"):
        assert shown in newest.group(1)
    assert 'href="/dags/example"' in newest.group(1)


def test_audit_log_filters(app: Flask, client: FlaskClient) -> None:
    viewer = app.test_client()
    forged = ui_sign_in(viewer, "Viewer")
    assert (
        viewer.post("/pools", data={"csrf_token": forged, "name": "x", "slots": "1"}).status_code
        == 403
    )
    csrf = ui_sign_in(client, "Admin")
    client.post("/dags/example/pause", data={"csrf_token": csrf, "paused": "true"})

    denied = text_of(client.get("/audit?outcome=denied"))
    assert "ui.create_pool" in denied
    assert "ui.pause" not in denied
    by_user = text_of(client.get("/audit?user=viewer"))
    assert "ui.create_pool" in by_user
    assert "ui.pause" not in by_user
    assert "ui.pause" in text_of(client.get("/audit?dag_id=example"))
    assert "ui.pause" not in text_of(client.get("/audit?dag_id=finance_report"))
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert 'data-audit="' not in text_of(client.get(f"/audit?since={tomorrow}"))


def test_audit_log_refuses_a_bad_filter_next_to_its_field(client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    reply = client.get("/audit?since=yesterday")
    assert reply.status_code == 422
    assert re.search(r'id="since-error">&#39;yesterday&#39; is not a date', text_of(reply))


def test_audit_log_pages(app: Flask, client: FlaskClient) -> None:
    def fill(session: Any) -> None:
        for n in range(60):
            audit.record(
                session=session, action=f"test.{n}", outcome=audit.Outcome.SUCCESS, now=utcnow()
            )
        session.commit()

    in_db(app, fill)
    ui_sign_in(client, "Admin")
    first = text_of(client.get("/audit"))
    assert "test.59" in first
    assert "Next →" in first
    assert "test.0<" not in first
    assert "test.0<" in text_of(client.get("/audit?offset=50"))


# -- users ------------------------------------------------------------------------------------


def test_user_list(client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    page = text_of(client.get("/users"))
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
    error = re.search(rf'id="user-{field}-error">([^<]*)<', text_of(reply))
    assert error is not None
    assert message in error.group(1)
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
    ui_sign_in(client, "Admin")
    reply = client.get("/users/nobody")
    assert reply.status_code == 404
    assert "no user &#39;nobody&#39;" in text_of(reply)


# -- roles ------------------------------------------------------------------------------------


def test_role_list_shows_the_permission_matrix(client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    page = text_of(client.get("/roles"))
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
    ui_sign_in(client, "Admin")
    page = text_of(client.get("/roles/Op"))
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
    error = re.search(rf'id="role-{field}-error">([^<]*)<', text_of(reply))
    assert error is not None
    assert message in error.group(1)
    assert role_of(app, "Flyer") is None
    assert role_of(app, "Viewer") == before


def test_unknown_role_is_a_404_page(client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    reply = client.get("/roles/Nobody")
    assert reply.status_code == 404
    assert "no role &#39;Nobody&#39;" in text_of(reply)


# -- who may: pages, hidden controls, forged posts, CSRF --------------------------------------


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


def test_a_ui_post_is_in_the_audit_log_with_its_outcome(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    client.post(f"/dead-letters/{letter_id(app)}/replay", data={"csrf_token": csrf})
    entry = in_db(
        app, lambda s: s.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
    )
    assert (entry.action, entry.username, entry.outcome) == (
        "ui.replay_dead_letter",
        "op",
        "success",
    )
