"""The web UI's sign-in (JWT in HttpOnly cookies), CSRF, and the DAG list."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import AuditLog, Dag
from tests.webui.conftest import template_app
from tests.webui.ui import csrf_of, page_as, ui_sign_in
from tests.webui.world import PASSWORD
from webui import db
from webui.ui.present import dag_file
from webui.ui.session import ACCESS_COOKIE, REFRESH_COOKIE, safe_next


def dag_paused(app: Flask, dag_id: str) -> bool:
    with app.app_context():
        return bool(db.session().get_one(Dag, dag_id).is_paused)


def cookie(client: FlaskClient, name: str) -> str | None:
    found = client.get_cookie(name)
    return found.value if found else None


def test_signed_out_pages_lead_to_the_login_form(client: FlaskClient) -> None:
    reply = client.get("/dags?tag=etl")
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/login?next=/dags?tag%3Detl"


def test_sign_in_sets_http_only_cookies_and_goes_where_it_was_asked(client: FlaskClient) -> None:
    form = client.get("/login?next=/dags?tag=etl")
    reply = client.post(
        "/login?next=/dags?tag=etl",
        data={
            "username": "viewer",
            "password": PASSWORD,
            "csrf_token": csrf_of(form.get_data(as_text=True)),
        },
    )
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/dags?tag=etl"
    set_cookies = reply.headers.getlist("Set-Cookie")
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        [line] = [c for c in set_cookies if c.startswith(f"{name}=")]
        assert "HttpOnly" in line
        assert "SameSite=Lax" in line


def test_wrong_password_is_refused_and_audited(app: Flask, client: FlaskClient) -> None:
    form = client.get("/login")
    reply = client.post(
        "/login",
        data={
            "username": "viewer",
            "password": "wrong",
            "csrf_token": csrf_of(form.get_data(as_text=True)),
        },
    )
    assert reply.status_code == 401
    assert "Invalid username or password" in reply.get_data(as_text=True)
    assert cookie(client, ACCESS_COOKIE) is None
    with app.app_context():
        entry = db.session().scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert entry is not None
    assert (entry.action, entry.username, entry.outcome) == ("ui.login", "viewer", "denied")


def test_login_form_without_csrf_token_is_refused(client: FlaskClient) -> None:
    reply = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert reply.status_code == 400
    assert "CSRF token" in reply.get_data(as_text=True)
    assert cookie(client, ACCESS_COOKIE) is None


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/dags?tag=etl", "/dags?tag=etl"),
        ("https://evil.example/", None),
        ("//evil.example/x", None),
        ("javascript:alert(1)", None),
        ("dags", None),
    ],
)
def test_only_local_paths_are_followed_after_sign_in(target: str, kept: str | None) -> None:
    assert safe_next(target) == kept


def test_expired_access_token_is_renewed_from_the_refresh_cookie(
    template: Path, tmp_path: Path
) -> None:
    app = template_app(template, tmp_path, webserver={"access_token_ttl": "1s"})
    client = app.test_client()
    ui_sign_in(client, "Viewer")
    first = cookie(client, ACCESS_COOKIE)
    time.sleep(2.1)
    reply = client.get("/dags")
    assert reply.status_code == 200
    renewed = cookie(client, ACCESS_COOKIE)
    assert renewed is not None
    assert renewed != first


def test_sign_out_revokes_the_cookies_everywhere(client: FlaskClient, app: Flask) -> None:
    csrf = ui_sign_in(client, "Op")
    stolen = cookie(client, ACCESS_COOKIE), cookie(client, REFRESH_COOKIE)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/dags").status_code == 302

    thief = app.test_client()
    thief.set_cookie(ACCESS_COOKIE, stolen[0] or "")
    thief.set_cookie(REFRESH_COOKIE, stolen[1] or "")
    assert thief.get("/dags").status_code == 302


def test_forged_cookie_is_not_a_sign_in(client: FlaskClient) -> None:
    client.set_cookie(ACCESS_COOKIE, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")
    assert client.get("/dags").status_code == 302


def test_the_api_does_not_accept_the_ui_cookie(client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    assert client.get("/api/v2/dags").status_code == 401


def test_dag_list_shows_dags_runs_and_import_errors(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/dags")
    assert "example" in page
    assert "finance_report" in page
    assert "An ETL example" in page
    assert 'aria-label="manual__1: failed"' not in page  # the run is running, not failed
    assert 'aria-label="manual__1: ' in page
    assert "/dags/example/runs/manual__1" in page
    assert "1 DAG file failed to import" in page
    assert ">/dags/broken.py</a>" in page  # outside the DAGs folder: named in full


def test_a_dag_file_is_named_relative_to_the_dags_folder() -> None:
    folder = Path("/srv/loom/dags")
    assert dag_file("/srv/loom/dags/team/etl.py", folder) == "team/etl.py"
    assert dag_file("/elsewhere/etl.py", folder) == "/elsewhere/etl.py"


def test_dag_list_search_and_tag_filter(client: FlaskClient) -> None:
    by_tag = page_as(client, "Admin", "/dags?tag=finance")
    assert "finance_report" in by_tag
    assert 'data-dag="example"' not in by_tag
    by_text = client.get("/dags?search=ETL+ex").get_data(as_text=True)
    assert 'data-dag="example"' in by_text
    assert 'data-dag="finance_report"' not in by_text


def test_dag_list_respects_the_tag_scope(client: FlaskClient) -> None:
    page = page_as(client, "etl", "/dags")
    assert 'data-dag="example"' in page
    assert 'data-dag="finance_report"' not in page


def test_pause_toggle_changes_the_dag_and_is_audited(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Op")
    reply = client.post("/dags/example/pause", data={"paused": "true", "csrf_token": csrf})
    assert reply.status_code == 302
    assert dag_paused(app, "example")
    with app.app_context():
        entry = db.session().scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert entry is not None
    assert (entry.action, entry.username, entry.target) == ("ui.pause", "op", "/dags/example/pause")


def test_pause_without_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    assert client.post("/dags/example/pause", data={"paused": "true"}).status_code == 400
    assert not dag_paused(app, "example")


def test_viewer_has_no_pause_control_and_a_forged_pause_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    csrf = ui_sign_in(client, "Viewer")
    page = client.get("/dags").get_data(as_text=True)
    assert 'role="switch"' not in page
    assert '<span class="dag-status active">Active</span>' in page
    reply = client.post("/dags/example/pause", data={"paused": "true", "csrf_token": csrf})
    assert reply.status_code == 403
    assert not dag_paused(app, "example")


def test_import_error_page_and_unknown_id(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/dags")
    link = page.split('href="/import-errors/')[1].split('"')[0]
    error = client.get(f"/import-errors/{link}")
    assert error.status_code == 200
    assert "SyntaxError: bad" in error.get_data(as_text=True)
    missing = client.get("/import-errors/9999")
    assert missing.status_code == 404
    assert "no import error 9999" in missing.get_data(as_text=True)
