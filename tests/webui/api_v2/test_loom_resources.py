"""Loom's own resources under ``/api/v2`` (Airflow has none): dead letters, users, roles,
the permission catalogue and the audit log, in ``/api/v2``'s conventions (collections with
``total_entries``, ``limit``/``offset``/``order_by``), each operation guarded by its
permission, per-DAG scope kept, bad input a 422 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import DagRun, DeadLetter, TaskInstance
from engine.security.roles import create_role
from engine.security.users import create_user
from tests.webui.admin import FAILED_ONCE, extract, in_db, letter_id, letter_state
from tests.webui.conftest import bearer, login
from tests.webui.world import PASSWORD, fail_for_good

Headers = Callable[[str], dict[str, str]]
V2 = "/api/v2"


def as_granted(app: Flask, client: FlaskClient, *pairs: tuple[str, str], tags: Any = ()) -> Any:
    """Headers of a new user whose one role grants exactly ``pairs`` (on DAGs with ``tags``)."""
    name = "r" + "_".join(f"{a}{r}" for a, r in pairs)[:60]

    def add(session: Any) -> None:
        create_role(session=session, name=name, permissions=list(pairs), dag_tags=list(tags))
        create_user(session=session, username=name, password=PASSWORD, role_names=[name])
        session.commit()

    in_db(app, add)
    return bearer(login(client, name)["access_token"])


def assert_names_field(reply: Any, field: str) -> None:
    assert reply.status_code == 422, reply.get_json()
    assert field in reply.get_json()["errors"], reply.get_json()


# -- dead letters -----------------------------------------------------------------------------


def _second_letter(session: Any) -> None:
    """A dead letter of ``finance_report`` too (the world has one of ``example``)."""
    run = session.scalars(sa.select(DagRun).where(DagRun.dag_id == "finance_report")).one()
    where = (TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id)
    ti = session.scalars(sa.select(TaskInstance).where(*where)).one()
    fail_for_good(session, run, ti, "OSError", "disk full")
    session.commit()


def test_dead_letters_list_filter_page_and_get(app: Flask, client: FlaskClient) -> None:
    in_db(app, _second_letter)
    url = f"{V2}/deadLetters"
    reader = as_granted(app, client, ("read", "dead_letters"))

    page = client.get(url, headers=reader).get_json()
    assert page["total_entries"] == 2
    assert [d["dag_id"] for d in page["dead_letters"]] == ["finance_report", "example"]
    one = client.get(f"{url}?limit=1&offset=1", headers=reader).get_json()
    assert (one["total_entries"], [d["dag_id"] for d in one["dead_letters"]]) == (2, ["example"])
    by_dag = client.get(f"{url}?dag_id=example&state=pending", headers=reader).get_json()
    assert [d["dag_id"] for d in by_dag["dead_letters"]] == ["example"]
    ordered = client.get(f"{url}?order_by=dag_id", headers=reader).get_json()
    assert [d["dag_id"] for d in ordered["dead_letters"]] == ["example", "finance_report"]

    id = letter_id_of(app, "example")
    got = client.get(f"{url}/{id}", headers=reader)
    assert got.status_code == 200
    assert (got.get_json()["task_id"], got.get_json()["state"]) == ("extract", "pending")
    assert client.get(f"{url}/999999", headers=reader).status_code == 404

    nothing = as_granted(app, client, ("read", "dags"))
    assert client.get(url, headers=nothing).status_code == 403
    assert client.get(f"{url}/{id}", headers=nothing).status_code == 403


def letter_id_of(app: Flask, dag_id: str) -> int:
    stmt = sa.select(DeadLetter.id).where(DeadLetter.dag_id == dag_id)
    return int(in_db(app, lambda s: s.scalars(stmt).one()))


@pytest.mark.parametrize(
    ("query", "field"),
    [("state=lost", "state"), ("limit=-1", "limit"), ("offset=x", "offset"),
     ("order_by=payload", "order_by"), ("dag_id=" + "d" * 300, "dag_id")],
)  # fmt: skip
def test_dead_letter_list_refuses_bad_arguments_by_name(
    client: FlaskClient, as_role: Headers, query: str, field: str
) -> None:
    reply = client.get(f"{V2}/deadLetters?{query}", headers=as_role("Op"))
    assert_names_field(reply, field)


def test_replay_needs_edit_and_runs_the_task_again(app: Flask, client: FlaskClient) -> None:
    id = letter_id(app)
    url = f"{V2}/deadLetters/{id}/replay"
    reader = as_granted(app, client, ("read", "dead_letters"), ("delete", "dead_letters"))
    assert client.post(url, headers=reader).status_code == 403
    assert letter_state(app) == "pending"

    editor = as_granted(app, client, ("edit", "dead_letters"))
    reply = client.post(url, headers=editor)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["state"] == "replayed"
    assert reply.get_json()["resolved_by"] == login_name(editor, client)
    state, try_number, max_tries = extract(app)
    assert (state, max_tries > try_number) == ("none", True)
    again = client.post(url, headers=editor)
    assert again.status_code == 409
    assert f"dead letter {id} is replayed already" in again.get_json()["detail"]


def login_name(headers: dict[str, str], client: FlaskClient) -> str:
    return str(client.get("/auth/me", headers=headers).get_json()["username"])


def test_discard_needs_delete_and_runs_nothing(app: Flask, client: FlaskClient) -> None:
    id = letter_id(app)
    url = f"{V2}/deadLetters/{id}/discard"
    editor = as_granted(app, client, ("read", "dead_letters"), ("edit", "dead_letters"))
    assert client.post(url, headers=editor).status_code == 403
    deleter = as_granted(app, client, ("delete", "dead_letters"))
    reply = client.post(url, headers=deleter)
    assert reply.status_code == 200
    assert letter_state(app) == "discarded"
    assert extract(app) == FAILED_ONCE
    assert client.post(f"{V2}/deadLetters/999999/discard", headers=deleter).status_code == 404


def test_dead_letters_of_other_dags_are_hidden_and_untouchable(
    app: Flask, client: FlaskClient
) -> None:
    id = letter_id(app)  # of example, tagged etl
    every = [(a, "dead_letters") for a in ("read", "edit", "delete")]
    finance = as_granted(app, client, *every, tags=["finance"])
    page = client.get(f"{V2}/deadLetters", headers=finance).get_json()
    assert page == {"dead_letters": [], "total_entries": 0}
    assert client.get(f"{V2}/deadLetters/{id}", headers=finance).status_code == 404
    assert client.post(f"{V2}/deadLetters/{id}/replay", headers=finance).status_code == 404
    assert client.post(f"{V2}/deadLetters/{id}/discard", headers=finance).status_code == 404
    assert letter_state(app) == "pending"
    etl = as_granted(app, client, ("read", "dead_letters"), tags=["etl"])
    assert client.get(f"{V2}/deadLetters", headers=etl).get_json()["total_entries"] == 1


# -- users ------------------------------------------------------------------------------------


def test_users_list_pages_with_total_entries(client: FlaskClient, as_role: Headers) -> None:
    admin = as_role("Admin")
    every = client.get(f"{V2}/users?limit=1000", headers=admin).get_json()
    names = [u["username"] for u in every["users"]]
    assert names == sorted(names)
    assert every["total_entries"] == len(names) >= 5
    assert "password" not in every["users"][0]
    second = client.get(f"{V2}/users?limit=2&offset=1", headers=admin).get_json()
    assert second["total_entries"] == len(names)
    assert [u["username"] for u in second["users"]] == names[1:3]
    newest = client.get(f"{V2}/users?order_by=-username&limit=1", headers=admin).get_json()
    assert [u["username"] for u in newest["users"]] == names[-1:]
    assert client.get(f"{V2}/users", headers=as_role("Op")).status_code == 403


def test_user_operations_each_need_their_permission(app: Flask, client: FlaskClient) -> None:
    url = f"{V2}/users"
    body = {"username": "newbie", "password": PASSWORD, "roles": ["Viewer"]}
    reader = as_granted(app, client, ("read", "users"))
    assert client.get(f"{url}/viewer", headers=reader).get_json()["roles"] == ["Viewer"]
    assert client.post(url, json=body, headers=reader).status_code == 403
    assert (
        client.patch(f"{url}/victim", json={"email": "v@x.io"}, headers=reader).status_code == 403
    )
    assert client.post(f"{url}/victim/disable", headers=reader).status_code == 403
    assert client.delete(f"{url}/victim", headers=reader).status_code == 403

    creator = as_granted(app, client, ("create", "users"))
    assert client.get(f"{url}/viewer", headers=creator).status_code == 403
    created = client.post(url, json=body | {"email": "n@x.io"}, headers=creator)
    assert created.status_code == 201
    assert (created.get_json()["username"], created.get_json()["email"]) == ("newbie", "n@x.io")
    assert client.post(url, json=body, headers=creator).status_code == 409
    assert login(client, "newbie")["access_token"]

    editor = as_granted(app, client, ("edit", "users"))
    patched = client.patch(f"{url}/newbie", json={"full_name": "New Bie"}, headers=editor)
    assert patched.status_code == 200
    assert (patched.get_json()["full_name"], patched.get_json()["email"]) == ("New Bie", "n@x.io")
    disabled = client.post(f"{url}/newbie/disable", headers=editor)
    assert disabled.get_json()["is_active"] is False

    deleter = as_granted(app, client, ("delete", "users"))
    assert client.delete(f"{url}/newbie", headers=deleter).status_code == 204
    assert client.get(f"{url}/newbie", headers=reader).status_code == 404
    assert client.delete(f"{url}/newbie", headers=deleter).status_code == 404


def test_an_unknown_role_for_a_user_is_refused(client: FlaskClient, as_role: Headers) -> None:
    body = {"username": "a", "password": PASSWORD, "roles": ["NoSuchRole"]}
    reply = client.post(f"{V2}/users", json=body, headers=as_role("Admin"))
    assert reply.status_code == 404, reply.get_json()  # the role is what is missing
    assert "NoSuchRole" in reply.get_json()["detail"]


# -- roles and permissions --------------------------------------------------------------------


def test_roles_list_pages_with_total_entries(client: FlaskClient, as_role: Headers) -> None:
    admin = as_role("Admin")
    every = client.get(f"{V2}/roles", headers=admin).get_json()
    names = [r["name"] for r in every["roles"]]
    assert {"Admin", "Op", "User", "Viewer", "Custom", "EtlViewer"} <= set(names)
    assert every["total_entries"] == len(names)
    two = client.get(f"{V2}/roles?limit=2&offset=2", headers=admin).get_json()
    assert (two["total_entries"], [r["name"] for r in two["roles"]]) == (len(names), names[2:4])
    etl = next(r for r in every["roles"] if r["name"] == "EtlViewer")
    assert etl["dag_tags"] == ["etl"]
    assert client.get(f"{V2}/roles", headers=as_role("Op")).status_code == 403


def test_role_operations_each_need_their_permission(app: Flask, client: FlaskClient) -> None:
    url = f"{V2}/roles"
    body: dict[str, Any] = {
        "name": "Pooler",
        "permissions": [{"action": "read", "resource": "pools"}],
    }
    reader = as_granted(app, client, ("read", "roles"))
    assert client.get(f"{url}/Custom", headers=reader).status_code == 200
    permissions = client.get(f"{V2}/permissions", headers=reader).get_json()
    assert permissions["total_entries"] == len(permissions["permissions"]) > 20
    assert {"action": "read", "resource": "pools"} in permissions["permissions"]
    assert client.post(url, json=body, headers=reader).status_code == 403
    assert (
        client.patch(f"{url}/Custom", json={"description": "x"}, headers=reader).status_code == 403
    )
    assert client.delete(f"{url}/Custom", headers=reader).status_code == 403

    creator = as_granted(app, client, ("create", "roles"))
    assert client.get(f"{V2}/permissions", headers=creator).status_code == 403
    created = client.post(url, json=body | {"dag_tags": ["finance"]}, headers=creator)
    assert created.status_code == 201
    assert (created.get_json()["dag_tags"], created.get_json()["is_builtin"]) == (
        ["finance"],
        False,
    )
    assert client.post(url, json=body, headers=creator).status_code == 409

    editor = as_granted(app, client, ("edit", "roles"))
    more = {"permissions": body["permissions"] + [{"action": "edit", "resource": "pools"}]}
    patched = client.patch(f"{url}/Pooler", json=more, headers=editor)
    assert patched.status_code == 200
    assert {"action": "edit", "resource": "pools"} in patched.get_json()["permissions"]
    assert patched.get_json()["dag_tags"] == ["finance"]  # left out: kept
    builtin = client.patch(f"{url}/Viewer", json=more, headers=editor)
    assert builtin.status_code in (409, 422)

    deleter = as_granted(app, client, ("delete", "roles"))
    assert client.delete(f"{url}/Pooler", headers=deleter).status_code == 204
    assert client.get(f"{url}/Pooler", headers=reader).status_code == 404
    assert client.delete(f"{url}/Viewer", headers=deleter).status_code in (409, 422)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/users", {"password": PASSWORD, "roles": ["Viewer"]}, "username"),
        ("post", "/users", {"username": "a", "roles": ["Viewer"]}, "password"),
        ("post", "/users", {"username": "a", "password": PASSWORD, "roles": []}, "roles"),
        ("post", "/users", {"username": "bad name!", "password": PASSWORD, "roles": ["Viewer"]},
         "username"),
        ("post", "/users",
         {"username": "a", "password": PASSWORD, "roles": ["Viewer"], "email": 3}, "email"),
        ("patch", "/users/victim", {"is_active": "maybe"}, "is_active"),
        ("patch", "/users/victim", {"password": ""}, "password"),
        ("patch", "/users/victim", {"roles": "Viewer"}, "roles"),
        ("post", "/roles", {"permissions": []}, "name"),
        ("post", "/roles", {"name": "R"}, "permissions"),
        ("post", "/roles", {"name": "R", "permissions": [{"action": "fly", "resource": "dags"}]},
         "permissions.0.action"),
        ("post", "/roles", {"name": "R", "permissions": [], "dag_tags": "etl"}, "dag_tags"),
        ("post", "/roles", {"name": "bad/name", "permissions": []}, "name"),
        ("patch", "/roles/Custom", {"permissions": [{"action": "read"}]}, "permissions.0.resource"),
        ("patch", "/roles/Custom", {"description": 7}, "description"),
    ],
)  # fmt: skip
def test_bad_user_or_role_input_is_a_422_naming_the_field(
    client: FlaskClient, as_role: Headers, method: str, path: str, body: Any, field: str
) -> None:
    reply = client.open(f"{V2}{path}", method=method.upper(), json=body, headers=as_role("Admin"))
    assert_names_field(reply, field)


# -- audit log --------------------------------------------------------------------------------


def test_the_audit_log_filters_by_dag_outcome_and_user_and_pages(
    client: FlaskClient, as_role: Headers
) -> None:
    op = as_role("Op")
    assert (
        client.patch(f"{V2}/dags/example", json={"is_paused": True}, headers=op).status_code == 200
    )
    forbidden = client.post(f"{V2}/users", json={}, headers=op)
    assert forbidden.status_code == 403
    admin = as_role("Admin")
    url = f"{V2}/auditLog"

    about = client.get(f"{url}?dag_id=example", headers=admin).get_json()
    assert [(e["action"], e["target"]) for e in about["audit_log"]] == [
        ("dags.patch_dag", "/api/v2/dags/example")
    ]
    assert (
        client.get(f"{url}?dag_id=finance_report", headers=admin).get_json()["total_entries"] == 0
    )
    denied = client.get(f"{url}?outcome=denied&username=op", headers=admin).get_json()
    assert [e["target"] for e in denied["audit_log"]] == ["/api/v2/users"]
    signins = client.get(f"{url}?target=/auth/token&order_by=id", headers=admin).get_json()
    assert [e["username"] for e in signins["audit_log"]] == ["op", "admin"]
    every = client.get(url, headers=admin).get_json()
    page = client.get(f"{url}?limit=1&offset=1", headers=admin).get_json()
    assert page["total_entries"] == every["total_entries"] == 4
    assert page["audit_log"] == every["audit_log"][1:2]
    assert client.get(url, headers=op).status_code == 403
    assert_names_field(client.get(f"{url}?since=yesterday", headers=admin), "since")
    assert_names_field(client.get(f"{url}?outcome=maybe", headers=admin), "outcome")
