"""Connecting to Redis (``redis.url``): the one way every process does it.

``redis.url`` may carry credentials: ``redis://user:password@host:6379/0`` for a Redis 6
ACL user, ``redis://:password@host:6379/0`` for ``requirepass``; ``rediss://`` for TLS.
A ``/``, ``@``, ``:`` or ``%`` in the user name or password is percent-encoded (``%2F``,
``%40``, ``%3A``, ``%25``). The executor, the workers (and RQ's scheduler process they
start, which copies the connection's credentials), the metrics' queue depths and the
health check all connect through :func:`connect`.

A URL Redis cannot be reached with becomes a :class:`~engine.errors.ConfigError` naming
it without its password: malformed, credentials refused, or a user lacking permissions.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.exceptions import AuthenticationError, NoPermissionError

from engine.config.masking import mask_url
from engine.errors import ConfigError

ACL_NEEDED = "~* &* +@all"
"""What a Redis ACL user of Loom's needs: every key (RQ's and Loom's), every pub/sub
channel (worker commands), every command (RQ's scripts and registries)."""


def connect(url: str, **options: Any) -> Redis:
    """A client for ``url`` (``options`` as for :meth:`redis.Redis.from_url`); nothing is
    sent yet. ConfigError when the URL cannot be read."""
    try:
        return Redis.from_url(url, **options)
    except ValueError:  # redis-py's message may quote part of the password: not shown
        raise ConfigError(
            f"redis.url: {mask_url(url)} is not a Redis URL Loom can read; expected "
            "redis://[user:password@]host:port/db, with / @ : % in the user name or "
            "password percent-encoded (%2F %40 %3A %25)"
        ) from None


def check(connection: Redis) -> None:
    """PING through ``connection``; ConfigError when Redis refuses its credentials."""
    try:
        connection.ping()
    except AuthenticationError as exc:
        raise ConfigError(
            f"redis.url: Redis at {describe(connection)} refused the user name or password "
            f"({exc}); check the credentials in redis.url"
        ) from None
    except NoPermissionError as exc:
        raise ConfigError(
            f"redis.url: the Redis user of {describe(connection)} may not do what Loom "
            f"needs ({exc}); grant it {ACL_NEEDED}"
        ) from None


def describe(connection: Redis) -> str:
    """``redis://user@host:port/db`` of ``connection``: where it goes, never its password."""
    kwargs = connection.connection_pool.connection_kwargs
    user = f"{kwargs['username']}@" if kwargs.get("username") else ""
    if "path" in kwargs:
        return f"unix://{user}{kwargs['path']}?db={kwargs.get('db', 0)}"
    where = f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return f"redis://{user}{where}/{kwargs.get('db', 0)}"
