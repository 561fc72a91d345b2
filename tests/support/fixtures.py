"""Fixtures every test package may use, registered from ``tests/conftest.py``: a database
per backend (empty, or migrated and seeded, with sessions on it), a DAG folder, an
executor that records what it is given. A migrated database is a copy of one migrated
once per test session (:mod:`tests.support.templates`).

A package that needs more (a DAG folder with files in it) overrides the fixture in its
own conftest and asks for this one under the same name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine.models import migrate
from tests.support.database import database_sessions
from tests.support.executors import RecordingExecutor
from tests.support.templates import TemplateDatabases

SEEDED = "seeded"
"""The template at Loom's newest schema with its seed rows (``loom db upgrade``)."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest) -> str:
    """An empty database: a SQLite file, then a fresh PostgreSQL database."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabases]:
    """Databases prepared once per test session, copied for each test."""
    databases = TemplateDatabases(tmp_path_factory.mktemp("templates"))
    yield databases
    databases.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, seeded database: a SQLite file, then a fresh PostgreSQL database."""
    url: str = request.getfixturevalue(f"seeded_{request.param}_url")
    return url


@pytest.fixture
def seeded_sqlite_url(templates: TemplateDatabases, tmp_path: Path) -> str:
    """The test's own SQLite database file (``sqlite_url``'s), migrated and seeded."""
    return templates.sqlite(SEEDED, migrate.upgrade_and_seed, tmp_path / "loom.db")


@pytest.fixture
def seeded_postgres_url(templates: TemplateDatabases) -> Iterator[str]:
    """A fresh PostgreSQL database, migrated and seeded."""
    with templates.postgres(SEEDED, migrate.upgrade_and_seed) as url:
        yield url


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on ``db_url``."""
    with database_sessions(db_url) as factory:
        yield factory


@pytest.fixture
def dags_folder(tmp_path: Path) -> Path:
    """An empty DAG folder of the test's own."""
    folder = tmp_path / "dags"
    folder.mkdir()
    return folder


@pytest.fixture
def executor() -> RecordingExecutor:
    """An executor that only records what is submitted."""
    return RecordingExecutor()
