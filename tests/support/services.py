"""Real services for tests: whether one answers, a fresh PostgreSQL database, a flushed
Redis database, and a deployment's environment on both.

A test that needs a service carries its marker (``postgres``, ``redis``, ``rabbitmq``).
When the service cannot be reached the test is skipped on a developer machine and
fails in CI (``CI=true``), where a skip would hide a missing service.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pika
import pytest
from redis import Redis

from tests.support.processes import rq_deployment_env

REDIS_PORT_ENV = "TEST_REDIS_PORT"
"""Names a parallel worker's own Redis server to the processes its tests start (job
modules build ``redis_url`` when a worker process imports them)."""
SERVICE_PORTS = {
    "postgres": 5432,
    "redis": int(os.environ.get(REDIS_PORT_ENV, 6379)),
    "rabbitmq": 5672,
}
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str) -> None:
    """Skip (or, in CI, fail) the calling test when service ``name`` does not answer."""
    if _reachable(SERVICE_PORTS[name]):
        return
    message = f"{name} is not reachable on 127.0.0.1:{SERVICE_PORTS[name]}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def redis_url(db: int) -> str:
    """The URL of database ``db`` on this test process's Redis server: the shared one, or
    in a parallel run a worker's own (``use_redis_port``)."""
    return f"redis://127.0.0.1:{SERVICE_PORTS['redis']}/{db}"


def use_redis_port(port: int) -> None:
    """Point ``redis_url`` and the ``redis`` marker's check at the server on ``port``, in
    this process and the processes it starts."""
    SERVICE_PORTS["redis"] = port
    os.environ[REDIS_PORT_ENV] = str(port)


@contextmanager
def flushed_redis(url: str) -> Iterator[Redis]:
    """A connection to the Redis database of ``url``, emptied before and after use.

    Each test module uses a database number of its own, never the default 0.
    """
    connection = Redis.from_url(url)
    connection.flushdb()
    try:
        yield connection
    finally:
        connection.flushdb()
        connection.close()


@contextmanager
def fresh_postgres_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (its URL), dropped afterwards: empty, or a copy of the
    database named ``template`` (which nobody may be connected to meanwhile)."""
    require_service("postgres")
    import sqlalchemy as sa

    name = f"loom_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def rq_deployment(
    root: Path, *, redis_url: str, dags_folder: Path, **settings: str
) -> Iterator[dict[str, str]]:
    """The environment of a deployment's ``loom`` processes (see :func:`rq_deployment_env`)
    on a fresh PostgreSQL database and the emptied Redis database ``redis_url``; the
    database is dropped and Redis flushed on the way out."""
    with fresh_postgres_database() as database_url, flushed_redis(redis_url):
        yield rq_deployment_env(
            home=root / "home",
            database_url=database_url,
            redis_url=redis_url,
            dags_folder=dags_folder,
            **settings,
        )


def delete_rabbitmq_topology(amqp_url: str, *, exchange: str, queue: str) -> None:
    """Delete a test's own ``queue`` and ``exchange`` with everything in them."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.queue_delete(queue=queue)
        channel.exchange_delete(exchange=exchange)
    finally:
        connection.close()
