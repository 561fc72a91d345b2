"""The service gate of tests/conftest.py: skip on a laptop, fail in CI."""

from __future__ import annotations

import pytest

from tests import conftest


def test_an_unreachable_service_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(conftest.SERVICE_PORTS, "redis", 9)  # discard port: nothing listens
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="redis is not reachable"):
        conftest.require_service("redis")


def test_an_unreachable_service_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(conftest.SERVICE_PORTS, "redis", 9)
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="redis is not reachable"):
        conftest.require_service("redis")
