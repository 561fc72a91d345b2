"""Health of what Loom depends on: the database, Redis, RabbitMQ, the scheduler and the
triggerer.

Each probe is bounded by :data:`PROBE_TIMEOUT_SECONDS` and returns a
:class:`ComponentHealth` instead of raising, so one dead service never hides the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import ConfigError
from engine.models.triggers import TriggererHeartbeat
from engine.scheduling.heartbeats import latest_scheduler_heartbeat

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2.0
"""Longest a probe waits for a service to answer."""

MIN_SCHEDULER_THRESHOLD = timedelta(seconds=30)
"""A scheduler counts as alive while it ticked within five ticks, and never less than this."""

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class ComponentHealth:
    """One component's status and, when it is not healthy, why."""

    status: str
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != UNHEALTHY


def check_database(sessions: sessionmaker[Session]) -> ComponentHealth:
    """The database answers ``SELECT 1``."""
    try:
        with sessions() as session:
            session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        logger.warning("health: database unreachable: %s", exc)
        return ComponentHealth(UNHEALTHY, type(exc).__name__)
    return ComponentHealth(HEALTHY)


def check_redis(url: str | None) -> ComponentHealth:
    """Redis answers ``PING`` (None: Redis is not used)."""
    if not url:
        return ComponentHealth(NOT_CONFIGURED)
    # Imported here: a process that uses no Redis (standalone) never loads the client.
    from redis.exceptions import RedisError

    from engine.runtime.redisconn import check, connect

    try:
        client = connect(
            url, socket_timeout=PROBE_TIMEOUT_SECONDS, socket_connect_timeout=PROBE_TIMEOUT_SECONDS
        )
    except ConfigError as exc:
        return ComponentHealth(UNHEALTHY, type(exc).__name__)
    try:
        check(client)
    except (RedisError, ConfigError) as exc:
        return ComponentHealth(UNHEALTHY, type(exc).__name__)
    finally:
        client.close()
    return ComponentHealth(HEALTHY)


def check_rabbitmq(amqp_url: str | None) -> ComponentHealth:
    """RabbitMQ accepts a connection (None or empty: dead letters stay in the database)."""
    if not amqp_url:
        return ComponentHealth(NOT_CONFIGURED)
    import pika  # here: no RabbitMQ configured, no client loaded
    from pika.exceptions import AMQPError

    params = pika.URLParameters(amqp_url)
    params.socket_timeout = PROBE_TIMEOUT_SECONDS
    params.connection_attempts = 1
    params.blocked_connection_timeout = PROBE_TIMEOUT_SECONDS
    try:
        pika.BlockingConnection(params).close()
    except (AMQPError, OSError) as exc:
        return ComponentHealth(UNHEALTHY, type(exc).__name__)
    return ComponentHealth(HEALTHY)


def check_scheduler(
    sessions: sessionmaker[Session], *, now: datetime, threshold: timedelta
) -> tuple[ComponentHealth, datetime | None]:
    """Some scheduler ticked within ``threshold``; also when the last one did."""
    health, latest = _check_heartbeat(
        sessions, latest_scheduler_heartbeat, now=now, threshold=threshold
    )
    return health or ComponentHealth(UNHEALTHY, "no scheduler has ever run"), latest


def scheduler_threshold(tick_interval: timedelta) -> timedelta:
    """How old the latest scheduler heartbeat may be while a scheduler counts as alive."""
    return max(5 * tick_interval, MIN_SCHEDULER_THRESHOLD)


def check_triggerer(
    sessions: sessionmaker[Session], *, now: datetime, threshold: timedelta
) -> tuple[ComponentHealth | None, datetime | None]:
    """Some triggerer heartbeat within ``threshold``; None when no triggerer ever ran (a
    deployment without deferrable tasks needs none; Airflow reports it so too)."""
    return _check_heartbeat(sessions, latest_triggerer_heartbeat, now=now, threshold=threshold)


def latest_triggerer_heartbeat(*, session: Session) -> datetime | None:
    """When any triggerer last heartbeat; None when none ever did."""
    return session.scalar(sa.select(sa.func.max(TriggererHeartbeat.last_heartbeat_at)))


def _check_heartbeat(
    sessions: sessionmaker[Session],
    latest_of: Callable[..., datetime | None],
    *,
    now: datetime,
    threshold: timedelta,
) -> tuple[ComponentHealth | None, datetime | None]:
    """The health of the processes ``latest_of`` reads the heartbeat of; None: none ever ran."""
    try:
        with sessions() as session:
            latest = latest_of(session=session)
    except SQLAlchemyError as exc:
        return ComponentHealth(UNHEALTHY, type(exc).__name__), None
    if latest is None:
        return None, None
    if now - latest > threshold:
        return ComponentHealth(UNHEALTHY, f"last heartbeat {latest.isoformat()}"), latest
    return ComponentHealth(HEALTHY), latest
