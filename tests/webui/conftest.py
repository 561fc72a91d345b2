"""App, client and token fixtures for the API (after Flask's tutorial: ``app``, ``client``).

The test world (see :mod:`tests.webui.world`) is built once into a SQLite template file;
each test gets a copy, so tests may change anything. ``pg_app`` gets a copy of the same
world built once into a PostgreSQL template database.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.settings import make_settings
from tests.support.templates import TemplateDatabases
from tests.webui.world import PASSWORD, SECRET, USERNAMES, build_world
from webui import create_app
from webui.db import dispose


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated, seeded SQLite world every SQLite test starts from."""
    root = tmp_path_factory.mktemp("world")
    build_world(f"sqlite:///{root / 'template.db'}", root / "dags")
    return root


_APPS: list[Flask] = []


def app_for(url: str, tmp_path: Path, dags: Path, **sections: dict[str, Any]) -> Flask:
    """An app on database ``url`` (``sections``: settings on top of the test world's); its
    connections are closed when the test ends."""
    settings = make_settings(
        url, tmp_path / "home", dags_folder=dags, secret_key=SECRET, **sections
    )
    app = create_app({"TESTING": True, "LOOM_SETTINGS": settings})
    _APPS.append(app)
    return app


@pytest.fixture(autouse=True)
def _dispose_apps() -> Iterator[None]:
    yield
    while _APPS:
        dispose(_APPS.pop())


def template_app(template: Path, tmp_path: Path, **sections: dict[str, Any]) -> Flask:
    """The test world's app on a copy of its template database (``sections``: settings on
    top of the test world's)."""
    db_file = tmp_path / "loom.db"
    shutil.copy(template / "template.db", db_file)
    return app_for(f"sqlite:///{db_file}", tmp_path, template / "dags", **sections)


@pytest.fixture
def app(template: Path, tmp_path: Path) -> Flask:
    return template_app(template, tmp_path)


@pytest.fixture
def pg_app(template: Path, templates: TemplateDatabases, tmp_path: Path) -> Iterator[Flask]:
    """The test world's app on a copy of its PostgreSQL template database."""
    dags = template / "dags"
    with templates.postgres("webui-world", lambda url: build_world(url, dags)) as url:
        yield app_for(url, tmp_path, dags)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def pg_client(pg_app: Flask) -> FlaskClient:
    return pg_app.test_client()


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    """Sign in through the API (``POST /auth/token``); the token response."""
    response = client.post("/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def as_role(client: FlaskClient) -> Callable[[str], dict[str, str]]:
    """``as_role("Admin")``: headers with an access token of that role's user."""
    cache: dict[str, dict[str, str]] = {}

    def headers(role: str) -> dict[str, str]:
        if role not in cache:
            username = USERNAMES.get(role, role)
            cache[role] = bearer(login(client, username)["access_token"])
        return cache[role]

    return headers
