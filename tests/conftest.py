"""Fixtures shared by every test package: real services, isolated per test run.

A test that needs a service carries its marker (``postgres``, ``redis``, ``rabbitmq``).
When the service cannot be reached the test is skipped on a developer machine and
fails in CI (``CI=true``), where a skip would hide a missing service.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.privateredis import PrivateRedis
from tests.support.services import (
    SERVICE_PORTS,
    fresh_postgres_database,
    require_service,
    use_redis_port,
)

pytest_plugins = ["tests.support.fixtures", "tests.support.aws"]


def _redis_of_this_worker() -> PrivateRedis | None:
    """In a parallel run every worker but the first starts a Redis server of its own; the
    first, and a serial run, use the shared server."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if worker == "gw0":
        return None
    folder = Path(tempfile.mkdtemp(prefix=f"loom-tests-redis-{worker}-"))
    server = PrivateRedis(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    atexit.register(server.stop)
    use_redis_port(server.port)
    return server


_REDIS = _redis_of_this_worker()
"""Started on import: this conftest is imported before any below it and before any test
module, each of which may build a ``redis_url`` as it is imported."""


def pytest_unconfigure() -> None:
    if _REDIS is not None:
        _REDIS.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests share one deployment and one Chromium per worker: with
    ``--dist loadgroup`` they all go to the same worker; every other test goes wherever
    a worker is free."""
    browser = Path(__file__).parent / "browser"
    for item in items:
        if browser in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("browser"))


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


@pytest.fixture(autouse=True)
def _no_metadata_store_left_over() -> Iterator[None]:
    """Task code reaches the metadata database through a store kept for the process's
    life (built from the settings on first use); a test's must not serve the next test."""
    from engine.execution import secrets

    yield
    secrets.configure(None)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file of one test's own."""
    return f"sqlite:///{tmp_path / 'loom.db'}"
