"""``/health`` (for load balancers and Kubernetes probes) and ``/version``; no token needed.

``/health`` answers 200 while this webserver can serve (its database answers) and 503
otherwise; the body reports every component, so a dead scheduler shows without taking
every webserver out of a load balancer.
"""

from __future__ import annotations

from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import current_app

from engine.config import Settings
from engine.services.health import (
    HEALTHY,
    UNHEALTHY,
    check_database,
    check_rabbitmq,
    check_redis,
    check_scheduler,
)
from engine.timeutil import utcnow
from webui import db
from webui.api.blueprint import api_blueprint
from webui.api.schemas.admin import HealthSchema, VersionSchema
from webui.auth import public

blp = api_blueprint("monitor", "", "Health and version")

API_VERSION = "v1"
MIN_SCHEDULER_THRESHOLD = timedelta(seconds=30)


def _settings() -> Settings:
    settings: Settings = current_app.extensions["loom.settings"]
    return settings


@blp.route("/health", methods=["GET"])
@public
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database does not answer")
def health() -> Any:
    """Health of the database, Redis, RabbitMQ and the scheduler."""
    settings = _settings()
    threshold = max(5 * settings.scheduler.tick_interval, MIN_SCHEDULER_THRESHOLD)
    scheduler, heartbeat = check_scheduler(db.sessions(), now=utcnow(), threshold=threshold)
    redis_url = settings.redis.url if settings.executor.kind == "rq" else None
    components = {
        "database": check_database(db.sessions()),
        "redis": check_redis(redis_url),
        "rabbitmq": check_rabbitmq(settings.dlq.amqp_url),
        "scheduler": scheduler,
    }
    body = {
        "status": HEALTHY if all(c.ok for c in components.values()) else UNHEALTHY,
        "components": {
            name: {"status": c.status, "detail": c.detail} for name, c in components.items()
        },
        "scheduler_heartbeat": heartbeat,
    }
    return body, 200 if components["database"].ok else 503


@blp.route("/version", methods=["GET"])
@public
@blp.response(200, VersionSchema)
def get_version() -> Any:
    """Loom's version."""
    try:
        number = version("loom-engine")
    except PackageNotFoundError:  # a source tree that was never installed
        number = "0.0.0+unknown"
    return {"version": number, "api": API_VERSION}
