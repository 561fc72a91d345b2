"""Helpers shared by tests that talk to real services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pika
from redis import Redis


@contextmanager
def flushed_redis(url: str) -> Iterator[Redis]:
    """A connection to the Redis database of ``url``, emptied before and after use.

    Each test package uses a database number of its own, never the default 0.
    """
    connection = Redis.from_url(url)
    connection.flushdb()
    try:
        yield connection
    finally:
        connection.flushdb()
        connection.close()


def delete_rabbitmq_topology(amqp_url: str, *, exchange: str, queue: str) -> None:
    """Delete a test's own ``queue`` and ``exchange`` with everything in them."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.queue_delete(queue=queue)
        channel.exchange_delete(exchange=exchange)
    finally:
        connection.close()
