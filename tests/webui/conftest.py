"""App, client and token fixtures for the API (after Flask's tutorial: ``app``, ``client``).

The test world (see :mod:`tests.webui.world`) is built once into a SQLite template file;
each test gets a copy, so tests may change anything. ``pg_app`` gets a copy of the same
world built once into a PostgreSQL template database.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.parser import ParseOptions, refresh_dags
from tests.support.database import database_sessions
from tests.support.settings import make_settings
from tests.support.templates import TemplateDatabases, sqlite_url
from tests.webui.world import PASSWORD, SECRET, T0, USERNAMES, build_world
from webui import create_app
from webui.db import dispose


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated, seeded SQLite world every SQLite test starts from."""
    root = tmp_path_factory.mktemp("world")
    build_world(f"sqlite:///{root / 'template.db'}", root / "dags")
    return root


def world_copy(template: Path, db_file: Path) -> str:
    """The URL of ``db_file``, made now a copy of the SQLite world."""
    shutil.copy(template / "template.db", db_file)
    return sqlite_url(db_file)


def world_dags_copy(template: Path, folder: Path, **files: str) -> Path:
    """``folder``/dags, a copy of the world's DAG folder with ``files`` (name: source)
    added; parse them with :func:`parse_new_files`."""
    dags = folder / "dags"
    shutil.copytree(template / "dags", dags)
    for name, source in files.items():
        (dags / name).write_text(source)
    return dags


def parse_new_files(url: str, dags: Path, now: datetime = T0) -> None:
    """Parse ``dags`` into the database at ``url`` (the files it has not seen there: a
    copied folder's are new); every file must import."""
    options = ParseOptions(dags, timeout=60, parallelism=1)
    with database_sessions(url) as sessions, sessions.begin() as session:
        report = refresh_dags(session=session, options=options, now=now)
        assert not report.import_errors, report.import_errors


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
    url = world_copy(template, tmp_path / "loom.db")
    return app_for(url, tmp_path, template / "dags", **sections)


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
