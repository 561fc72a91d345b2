"""Signing in to the web UI from Flask's test client, as a browser would (cookies, CSRF)."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from tests.webui.world import PASSWORD, USERNAMES

_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token the page's forms carry."""
    match = _CSRF.search(html)
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


def ui_sign_in(client: FlaskClient, role: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in as ``role``'s user through the login form; the sign-in's CSRF token."""
    form = client.get("/login")
    assert form.status_code == 200
    reply = client.post(
        "/login",
        data={
            "username": USERNAMES.get(role, role),
            "password": password,
            "csrf_token": csrf_of(form.get_data(as_text=True)),
        },
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)
    page = client.get("/dags")
    assert page.status_code == 200
    return csrf_of(page.get_data(as_text=True))


def page_as(
    client: FlaskClient, role: str, path: str, status: int | None = None, **get: Any
) -> str:
    """Sign ``client`` in as ``role``'s user and read the page at ``path`` (which answers
    ``status``, when given)."""
    ui_sign_in(client, role)
    reply = client.get(path, **get)
    if status is not None:
        assert reply.status_code == status
    return reply.get_data(as_text=True)
