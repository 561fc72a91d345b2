"""Helpers shared by tests that talk to real services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
