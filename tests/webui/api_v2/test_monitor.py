"""``/api/v2/monitor/health`` for load balancers: 503 while the metadata database does not
answer (the components are checked in tests/webui/test_resources.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.webui.conftest import app_for

pytestmark = pytest.mark.postgres


def test_health_answers_503_while_the_database_does_not(pg_app: Flask, tmp_path: Path) -> None:
    dags = pg_app.extensions["loom.settings"].core.dags_folder
    gone = app_for("postgresql+psycopg://loom@127.0.0.1:1/nowhere", tmp_path, dags)
    response = gone.test_client().get("/api/v2/monitor/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["metadatabase"] == {"status": "unhealthy"}
    assert body["scheduler"]["status"] == "unhealthy"
