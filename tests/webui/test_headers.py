"""Security headers on every response (UI pages, API answers, errors, static files);
``Secure`` cookies over HTTPS; ``X-Forwarded-*`` believed only with ``webserver.proxy_fix``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse
from werkzeug.wrappers import Response

from engine.models import AuditLog
from tests.webui.conftest import template_app
from tests.webui.ui import csrf_of, ui_sign_in
from tests.webui.world import PASSWORD
from webui import db

HTTPS = {"X-Forwarded-Proto": "https"}
JSON = "application/json"
CLIENT_ADDRESS = "203.0.113.9"


def policy(response: Response) -> dict[str, list[str]]:
    """The Content-Security-Policy as directive -> sources."""
    header = response.headers.get("Content-Security-Policy", "")
    directives = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in directives}


def assert_secured(response: Response) -> None:
    csp = policy(response)
    assert csp["script-src"] == ["'self'"], csp
    assert "'unsafe-inline'" not in csp["default-src"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.fixture
def proxied_app(template: Path, tmp_path: Path) -> Flask:
    """The test world's app behind one trusted proxy (``webserver.proxy_fix: 1``)."""
    return template_app(template, tmp_path, webserver={"proxy_fix": "1"})


# --- headers ------------------------------------------------------------------------------


UI_PAGES = ["/dags", "/dags/example", "/dags/example/graph", "/dead-letters"]


@pytest.mark.parametrize("path", UI_PAGES)
def test_ui_pages_carry_the_security_headers(client: FlaskClient, path: str) -> None:
    ui_sign_in(client, "Op")
    response = client.get(path)
    assert response.status_code == 200
    assert_secured(response)


def test_ui_redirects_errors_and_static_files_carry_them(client: FlaskClient) -> None:
    for path, status in (("/login", 200), ("/dags", 302)):
        anonymous = client.get(path)
        assert anonymous.status_code == status, path
        assert_secured(anonymous)
    ui_sign_in(client, "Viewer")
    for path, status in (("/dags/nope", 404), ("/users", 403), ("/ui-static/loom.js", 200)):
        with client.get(path) as response:
            assert response.status_code == status, path
            assert_secured(response)
    refused = client.post("/pools", data={"name": "x"})  # no CSRF token
    assert refused.status_code == 400
    assert_secured(refused)


def test_api_answers_and_errors_carry_them(
    client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    viewer = as_role("Viewer")
    cases = [
        (client.get("/api/v2/version"), 200),
        (client.get("/api/v2/dags", headers=viewer), 200),
        (client.get("/api/v2/openapi.json"), 200),
        (client.get("/api/v2/dags"), 401),
        (client.get("/api/v2/connections", headers=viewer), 403),
        (client.get("/api/v2/dags/nope", headers=viewer), 404),
        (client.delete("/api/v2/version"), 405),
        (client.post("/auth/token", data="{", content_type=JSON), 400),
        (client.post("/auth/token", json={"username": "x"}), 422),
        (client.post("/auth/token", data="x" * 2_000_000, content_type=JSON), 413),
    ]
    for response, status in cases:
        assert response.status_code == status, response.request.path
        assert_secured(response)


def test_an_unexpected_error_carries_them(app: Flask) -> None:
    def broken() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/api/v2/broken", "broken", broken)
    response = app.test_client().get("/api/v2/broken")
    assert response.status_code == 500
    assert response.get_json()["detail"] == "internal server error"
    assert_secured(response)


# --- HTTPS and proxies --------------------------------------------------------------------


def set_cookie_lines(response: TestResponse) -> dict[str, str]:
    lines = response.headers.getlist("Set-Cookie")
    return {line.split("=", 1)[0]: line for line in lines}


def is_secure(line: str) -> bool:
    return "secure" in (attribute.strip().lower() for attribute in line.split(";"))


def test_cookies_are_secure_when_the_request_is_https(app: Flask) -> None:
    plain = set_cookie_lines(app.test_client().get("/login"))
    assert not is_secure(plain["loom_prelogin"])
    direct = set_cookie_lines(app.test_client().get("/login", base_url="https://localhost"))
    assert is_secure(direct["loom_prelogin"])


def test_x_forwarded_proto_is_ignored_without_proxy_fix(client: FlaskClient) -> None:
    cookies = set_cookie_lines(client.get("/login", headers=HTTPS))
    assert not is_secure(cookies["loom_prelogin"])
    signed_in = _sign_in_through(client, HTTPS)
    assert not any(is_secure(line) for line in signed_in.values())


def test_behind_a_trusted_https_proxy_every_cookie_is_secure(proxied_app: Flask) -> None:
    plain = proxied_app.test_client().get("/login")  # the proxy spoke plain HTTP
    assert not is_secure(set_cookie_lines(plain)["loom_prelogin"])
    client = proxied_app.test_client()
    assert is_secure(set_cookie_lines(client.get("/login", headers=HTTPS))["loom_prelogin"])
    signed_in = _sign_in_through(client, HTTPS)
    assert {"loom_access", "loom_refresh"} <= set(signed_in)
    assert all(is_secure(line) for line in signed_in.values()), signed_in
    csrf = csrf_of(client.get("/dead-letters/1", headers=HTTPS).get_data(as_text=True))
    flashed = client.post("/dead-letters/1/discard", data={"csrf_token": csrf}, headers=HTTPS)
    assert flashed.status_code == 302
    session_cookie = set_cookie_lines(flashed)["session"]  # Flask's, carrying the flash
    assert is_secure(session_cookie)
    assert "samesite=lax" in session_cookie.lower()
    signed_out = client.post("/logout", data={"csrf_token": csrf}, headers=HTTPS)
    assert all(is_secure(line) for line in set_cookie_lines(signed_out).values())


def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(
    app: Flask, proxied_app: Flask
) -> None:
    forwarded = {"X-Forwarded-For": CLIENT_ADDRESS}
    for subject, expected in ((app, "127.0.0.1"), (proxied_app, CLIENT_ADDRESS)):
        client = subject.test_client()
        client.post("/auth/token", json={"username": "op", "password": "x"}, headers=forwarded)
        with subject.app_context():
            entry = db.session().scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
            assert entry is not None
            assert entry.target == "/auth/token"
            assert entry.source_ip == expected
            db.session().close()


def _sign_in_through(client: FlaskClient, headers: dict[str, str]) -> dict[str, str]:
    """Sign in as Op through the login form; the cookies the sign-in set."""
    form = client.get("/login", headers=headers)
    data = {
        "username": "op",
        "password": PASSWORD,
        "csrf_token": csrf_of(form.get_data(as_text=True)),
    }
    reply = client.post("/login", data=data, headers=headers)
    assert reply.status_code == 302, reply.get_data(as_text=True)
    return set_cookie_lines(reply)
