"""``loom connections test``: a connection found as tasks find it is tested by its hook
(SELECT 1, a GET of the base URL); success or the reason is printed, failure exits 1."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from engine.models import migrate
from tests.support.cli import loom, ok
from tests.support.httpservice import Service


def test_a_database_from_the_environment(warehouse: str) -> None:
    output = ok("connections", "test", "warehouse")
    assert "Retrieving connection: 'warehouse'" in output
    assert "Connection success! Connection successfully tested" in output


def test_failures_exit_non_zero_with_the_reason(
    service: Service, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("LOOM__DATABASE__URL", sqlite_url)
    monkeypatch.setenv("LOOM__CORE__FERNET_KEY", Fernet.generate_key().decode())
    ok(
        "connections",
        "add",
        "api",
        "--conn-json",
        json.dumps({"conn_type": "http", "host": service.url}),
    )
    service.routes["/"] = (200, "up")
    assert "Connection success!" in ok("connections", "test", "api")
    assert [r.method for r in service.received] == ["GET"]
    service.routes["/"] = (503, "down")
    failed = loom("connections", "test", "api")
    assert failed.exit_code == 1
    assert "Connection failed!\nHookError: 503:Service Unavailable" in failed.output
    monkeypatch.setenv("LOOM_CONN_LEGACY", "mysql://db:3306/app")
    other = loom("connections", "test", "legacy")
    assert other.exit_code == 1
    assert "cannot test conn_type 'mysql'" in other.output
    missing = loom("connections", "test", "ghost")
    assert missing.exit_code != 0
    assert "The conn_id `ghost` isn't defined" in missing.output
