"""Fixtures every test package may use, registered from ``tests/conftest.py``: a database
per backend (empty, or migrated and seeded, with sessions on it), a DAG folder, an
executor that records what it is given.

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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest) -> str:
    """An empty database: a SQLite file, then a fresh PostgreSQL database."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A migrated, seeded database: a SQLite file, then a fresh PostgreSQL database."""
    migrate.upgrade_and_seed(empty_db_url)
    return empty_db_url


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
