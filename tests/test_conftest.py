"""The service gate tests/conftest.py applies (tests/support/services.py): skip on a laptop,
fail in CI; and the Redis server of a parallel run's worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support import services
from tests.support.privateredis import PrivateRedis


def test_an_unreachable_service_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(services.SERVICE_PORTS, "redis", 9)  # discard port: nothing listens
    monkeypatch.setattr(services, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="redis is not reachable"):
        services.require_service("redis")


def test_an_unreachable_service_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(services.SERVICE_PORTS, "redis", 9)
    monkeypatch.setattr(services, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="redis is not reachable"):
        services.require_service("redis")


def test_a_private_redis_serves_until_stopped(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path / "redis")
    client = Redis(host="127.0.0.1", port=server.port, socket_connect_timeout=1)
    try:
        assert client.set("k", "v")
        assert server.port != 6379
    finally:
        server.stop()
    with pytest.raises(RedisConnectionError):
        client.ping()
    client.close()


def test_redis_url_follows_the_workers_own_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(services.SERVICE_PORTS, "redis", 6379)
    monkeypatch.setenv(services.REDIS_PORT_ENV, "6379")  # undone after the test, as it must be
    assert services.redis_url(11) == "redis://127.0.0.1:6379/11"
    services.use_redis_port(16001)
    assert services.redis_url(11) == "redis://127.0.0.1:16001/11"
    assert os.environ[services.REDIS_PORT_ENV] == "16001"  # what child processes read
