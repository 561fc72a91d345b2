"""Fixtures shared by every test package: real services, isolated per test run.

A test that needs a service carries its marker (``postgres``, ``redis``, ``rabbitmq``).
When the service cannot be reached the test is skipped on a developer machine and
fails in CI (``CI=true``), where a skip would hide a missing service.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SERVICE_PORTS = {"postgres": 5432, "redis": 6379, "rabbitmq": 5672}
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str) -> None:
    """Skip (or, in CI, fail) the calling test when service ``name`` does not answer."""
    if _reachable(SERVICE_PORTS[name]):
        return
    message = f"{name} is not reachable on 127.0.0.1:{SERVICE_PORTS[name]}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _services_for_markers(request: pytest.FixtureRequest) -> None:
    for name in SERVICE_PORTS:
        if request.node.get_closest_marker(name) is not None:
            require_service(name)


@pytest.fixture(autouse=True)
def _isolated_loom_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's configuration or writes into the work tree."""
    for key in list(os.environ):
        if key.startswith("LOOM"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LOOM_HOME", str(tmp_path / "loom-home"))


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped afterwards."""
    require_service("postgres")
    import sqlalchemy as sa

    name = f"loom_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file of one test's own."""
    return f"sqlite:///{tmp_path / 'loom.db'}"
