"""A warehouse database per backend (SQLite file, fresh PostgreSQL database) named by a
connection in the environment, and a local HTTP service that records what it is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.httpservice import Service, http_service

WAREHOUSE = "LOOM_CONN_WAREHOUSE"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """The ``warehouse`` connection's text (set as ``LOOM_CONN_WAREHOUSE``): a SQLite file
    in Airflow's JSON form (host is the path), or a fresh PostgreSQL database's URI."""
    if request.param == "sqlite":
        text = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")})
    else:
        url: str = request.getfixturevalue("postgres_url")
        text = url.replace("postgresql+psycopg://", "postgres://")
    monkeypatch.setenv(WAREHOUSE, text)
    return text


@pytest.fixture
def service() -> Iterator[Service]:
    """A local HTTP service on 127.0.0.1, stopped after the test."""
    with http_service() as svc:
        yield svc
