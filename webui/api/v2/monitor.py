"""``/api/v2/version`` and ``/api/v2/monitor/health`` in Airflow 3's shapes; no token needed.

Health reports Airflow's components and Loom's brokers (``redis``, ``rabbitmq``, each with
a ``detail``). It answers 503 while the metadata database does not answer, so load
balancers and readiness probes take this webserver out (Airflow answers 200 whatever it
finds; see docs/decisions.md), and 200 otherwise: a dead scheduler shows in the body
without taking every webserver out. The triggerer's status is null when no triggerer ever
ran, as in Airflow. Loom has no DAG processor process: the scheduler parses, so the DAG
processor reports the scheduler's status. A broker's status is null when it is not
configured (no RQ executor, no ``dlq.amqp_url``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import marshmallow as ma
from flask import current_app
from marshmallow import fields

from engine.config import Settings
from engine.services.health import (
    NOT_CONFIGURED,
    ComponentHealth,
    check_database,
    check_rabbitmq,
    check_redis,
    check_scheduler,
    check_triggerer,
    scheduler_threshold,
)
from engine.timeutil import utcnow
from webui import db
from webui.api.v2.common import v2_blueprint
from webui.auth import public

blp = v2_blueprint("monitor", "", "Monitor")


class StatusSchema(ma.Schema):
    status = fields.String(allow_none=True)


class SchedulerStatusSchema(StatusSchema):
    latest_scheduler_heartbeat = fields.String(allow_none=True)


class TriggererStatusSchema(StatusSchema):
    latest_triggerer_heartbeat = fields.String(allow_none=True)


class DagProcessorStatusSchema(StatusSchema):
    latest_dag_processor_heartbeat = fields.String(allow_none=True)


class BrokerStatusSchema(StatusSchema):
    detail = fields.String(allow_none=True)


class HealthSchema(ma.Schema):
    metadatabase = fields.Nested(StatusSchema, required=True)
    scheduler = fields.Nested(SchedulerStatusSchema, required=True)
    triggerer = fields.Nested(TriggererStatusSchema, required=True)
    dag_processor = fields.Nested(DagProcessorStatusSchema, allow_none=True)
    redis = fields.Nested(BrokerStatusSchema, required=True)
    rabbitmq = fields.Nested(BrokerStatusSchema, required=True)


class VersionSchema(ma.Schema):
    version = fields.String(required=True)
    git_version = fields.String(allow_none=True)


@blp.route("/monitor/health", methods=["GET"])
@public
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The metadata database does not answer")
def health() -> Any:
    """Health of the metadata database, the scheduler, the triggerer, Redis and RabbitMQ."""
    settings: Settings = current_app.extensions["loom.settings"]
    threshold = scheduler_threshold(settings.scheduler.tick_interval)
    scheduler, heartbeat = check_scheduler(db.sessions(), now=utcnow(), threshold=threshold)
    beat = heartbeat.isoformat() if heartbeat is not None else None
    state = "healthy" if scheduler.ok else "unhealthy"
    database = check_database(db.sessions())
    redis_url = settings.redis.url if settings.executor.kind == "rq" else None
    triggerer, triggered = check_triggerer(
        db.sessions(), now=utcnow(), threshold=settings.triggerer.heartbeat_threshold
    )
    redis_url = settings.redis.url if settings.executor.kind == "rq" else None
    brokers = {"redis": check_redis(redis_url), "rabbitmq": check_rabbitmq(settings.dlq.amqp_url)}
    body = {
        "metadatabase": {"status": "healthy" if database.ok else "unhealthy"},
        "scheduler": {"status": state, "latest_scheduler_heartbeat": beat},
        "triggerer": {
            "status": None if triggerer is None else triggerer.status,
            "latest_triggerer_heartbeat": triggered.isoformat() if triggered else None,
        },
        "dag_processor": {"status": state, "latest_dag_processor_heartbeat": beat},
        **{name: _status(component) for name, component in brokers.items()},
    }
    return body, 200 if database.ok else 503


def _status(component: ComponentHealth) -> dict[str, str | None]:
    if component.status == NOT_CONFIGURED:
        return {"status": None, "detail": None}
    return {"status": component.status, "detail": component.detail}


@blp.route("/version", methods=["GET"])
@public
@blp.response(200, VersionSchema)
def get_version() -> Any:
    """Loom's version (Airflow's field: ``version``)."""
    try:
        number = version("loom-engine")
    except PackageNotFoundError:  # a source tree that was never installed
        number = "0.0.0+unknown"
    return {"version": number, "git_version": None}
