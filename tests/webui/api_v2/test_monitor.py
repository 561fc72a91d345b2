"""``/api/v2/monitor/health`` for load balancers: Airflow's components, Loom's brokers, and
503 while the metadata database does not answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from engine.scheduling.heartbeats import record_scheduler_heartbeat
from engine.timeutil import utcnow
from tests.webui.conftest import app_for
from webui import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/%2F"


def on_rq(url: str, tmp_path: Path, dags: Path, redis_url: str) -> Flask:
    return app_for(
        url,
        tmp_path,
        dags,
        executor={"kind": "rq"},
        redis={"url": redis_url},
        dlq={"amqp_url": RABBITMQ},
    )


def test_health_reports_every_component_and_the_scheduler_heartbeat(
    pg_app: Flask, postgres_url: str, tmp_path: Path
) -> None:
    dags = pg_app.extensions["loom.settings"].core.dags_folder
    app = on_rq(postgres_url, tmp_path, dags, "redis://127.0.0.1:6379/11")
    client = app.test_client()
    body = client.get("/api/v2/monitor/health").get_json()
    assert body["metadatabase"] == {"status": "healthy"}
    assert body["scheduler"]["status"] == "unhealthy"
    assert body["redis"]["status"] == "healthy"
    assert body["rabbitmq"]["status"] == "healthy"

    with app.app_context(), db.sessions().begin() as session:
        record_scheduler_heartbeat(session=session, now=utcnow())
    response = client.get("/api/v2/monitor/health")
    assert response.status_code == 200
    assert response.get_json()["scheduler"]["status"] == "healthy"

    broken_redis = on_rq(postgres_url, tmp_path / "b", dags, "redis://127.0.0.1:1/11")
    body = broken_redis.test_client().get("/api/v2/monitor/health").get_json()
    assert body["redis"]["status"] == "unhealthy"
    assert body["redis"]["detail"]


def test_health_answers_503_while_the_database_does_not(pg_app: Flask, tmp_path: Path) -> None:
    dags = pg_app.extensions["loom.settings"].core.dags_folder
    gone = app_for("postgresql+psycopg://loom@127.0.0.1:1/nowhere", tmp_path, dags)
    response = gone.test_client().get("/api/v2/monitor/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["metadatabase"] == {"status": "unhealthy"}
    assert body["scheduler"]["status"] == "unhealthy"
