"""``/api/v2/version`` and ``/api/v2/monitor/health`` in Airflow 3's shapes; no token needed.

Health answers 200 whatever it finds, as Airflow's does (Loom's ``/api/v1/health`` answers
503 without a database, for load balancers). The triggerer's status is null when no
triggerer ever ran, as in Airflow. Loom has no DAG processor process: the scheduler parses,
so the DAG processor reports the scheduler's status. Loom adds ``redis`` (with the RQ
executor) and ``rabbitmq`` (with ``dlq.amqp_url``) in the same shape, status null when
not configured.
"""

from __future__ import annotations

from datetime import timedelta
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
)
from engine.timeutil import utcnow
from webui import db
from webui.api.v2.common import v2_blueprint
from webui.auth import public

blp = v2_blueprint("monitor", "", "Monitor")

MIN_SCHEDULER_THRESHOLD = timedelta(seconds=30)


class StatusSchema(ma.Schema):
    status = fields.String(allow_none=True)


class SchedulerStatusSchema(StatusSchema):
    latest_scheduler_heartbeat = fields.String(allow_none=True)


class TriggererStatusSchema(StatusSchema):
    latest_triggerer_heartbeat = fields.String(allow_none=True)


class DagProcessorStatusSchema(StatusSchema):
    latest_dag_processor_heartbeat = fields.String(allow_none=True)


class HealthSchema(ma.Schema):
    metadatabase = fields.Nested(StatusSchema, required=True)
    scheduler = fields.Nested(SchedulerStatusSchema, required=True)
    triggerer = fields.Nested(TriggererStatusSchema, required=True)
    dag_processor = fields.Nested(DagProcessorStatusSchema, allow_none=True)
    redis = fields.Nested(StatusSchema, metadata={"description": "Loom: the RQ queues"})
    rabbitmq = fields.Nested(StatusSchema, metadata={"description": "Loom: the dead letters"})


class VersionSchema(ma.Schema):
    version = fields.String(required=True)
    git_version = fields.String(allow_none=True)


@blp.route("/monitor/health", methods=["GET"])
@public
@blp.response(200, HealthSchema)
def health() -> Any:
    """Health of the metadata database, the scheduler, the triggerer, Redis and RabbitMQ."""
    settings: Settings = current_app.extensions["loom.settings"]
    threshold = max(5 * settings.scheduler.tick_interval, MIN_SCHEDULER_THRESHOLD)
    scheduler, heartbeat = check_scheduler(db.sessions(), now=utcnow(), threshold=threshold)
    beat = heartbeat.isoformat() if heartbeat is not None else None
    state = "healthy" if scheduler.ok else "unhealthy"
    database = check_database(db.sessions())
    redis_url = settings.redis.url if settings.executor.kind == "rq" else None
    triggerer, triggered = check_triggerer(
        db.sessions(), now=utcnow(), threshold=settings.triggerer.heartbeat_threshold
    )
    return {
        "metadatabase": {"status": "healthy" if database.ok else "unhealthy"},
        "scheduler": {"status": state, "latest_scheduler_heartbeat": beat},
        "triggerer": {
            "status": None if triggerer is None else triggerer.status,
            "latest_triggerer_heartbeat": triggered.isoformat() if triggered else None,
        },
        "dag_processor": {"status": state, "latest_dag_processor_heartbeat": beat},
        "redis": _status(check_redis(redis_url)),
        "rabbitmq": _status(check_rabbitmq(settings.dlq.amqp_url)),
    }


def _status(component: ComponentHealth) -> dict[str, str | None]:
    return {"status": None if component.status == NOT_CONFIGURED else component.status}


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
