"""The service gate tests/conftest.py applies (tests/support/services.py): skip on a laptop,
fail in CI."""

from __future__ import annotations

import pytest

from tests.support import services


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
