"""``loom webserver``, ``loom roles list``, and the helpers ``loom standalone`` uses."""

from __future__ import annotations

import http.client
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli.main import cli
from engine.config import load_settings
from engine.models import migrate
from tests.support.network import free_port
from tests.webui.world import SECRET
from webui.serve import (
    SECRET_FILE,
    ensure_secret_key,
    gunicorn_options,
    serve_in_thread,
    with_pool_for_threads,
)


def test_webserver_refuses_to_start_without_a_secret_key(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOM__DATABASE__URL", sqlite_url)
    result = CliRunner().invoke(cli, ["webserver", "--port", "8999"])
    assert result.exit_code == 1
    assert "webserver.secret_key is not set" in result.output
    assert "LOOM__WEBSERVER__SECRET_KEY" in result.output


def test_roles_list_shows_builtin_roles_and_permissions(
    seeded_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOM__DATABASE__URL", seeded_sqlite_url)
    result = CliRunner().invoke(cli, ["roles", "list", "--output", "json"])
    assert result.exit_code == 0, result.output
    roles = {row["name"]: row for row in json.loads(result.output)}
    assert sorted(roles) == ["Admin", "Op", "User", "Viewer"]
    assert "read:dags" in roles["Viewer"]["permissions"]
    assert "read:audit_log" not in roles["Viewer"]["permissions"]


def test_standalone_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = load_settings({"LOOM_HOME": str(tmp_path)}, cwd=tmp_path)
    first = ensure_secret_key(settings).webserver.secret_key
    assert len(first) >= 32
    path = tmp_path / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_secret_key(settings).webserver.secret_key == first
    configured = load_settings(
        {"LOOM_HOME": str(tmp_path), "LOOM__WEBSERVER__SECRET_KEY": SECRET}, cwd=tmp_path
    )
    assert ensure_secret_key(configured).webserver.secret_key == SECRET


def test_serve_in_thread_serves_the_api_until_stopped(tmp_path: Path) -> None:
    port = free_port()
    settings = load_settings(
        {"LOOM_HOME": str(tmp_path), "LOOM__WEBSERVER__PORT": str(port)}, cwd=tmp_path
    )
    migrate.upgrade_and_seed(settings.database.url)
    stop = threading.Event()
    thread = serve_in_thread(settings, stop)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/version", timeout=5) as reply:
            assert set(json.load(reply)) == {"version", "git_version"}
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_loom_webserver_serves_the_api_with_gunicorn(tmp_path: Path) -> None:
    env = {**os.environ, "LOOM_HOME": str(tmp_path), "LOOM__WEBSERVER__SECRET_KEY": SECRET}
    loom = str(Path(sys.executable).parent / "loom")
    subprocess.run([loom, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [loom, "webserver", "--port", str(port), "--workers", "1", "--threads", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        body = _poll(f"{base}/api/v2/monitor/health", deadline=time.monotonic() + 30)
        assert body["metadatabase"]["status"] == "healthy"
        # gunicorn believes X-Forwarded-Proto from 127.0.0.1 by default; Loom does not
        # without webserver.proxy_fix, so a client cannot pass for HTTPS.
        forged = urllib.request.Request(f"{base}/login", headers={"X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(forged, timeout=5) as reply:
            cookies = reply.headers.get_all("Set-Cookie")
            assert reply.headers["X-Frame-Options"] == "DENY"
        assert cookies
        assert not any("secure" in c.lower().split("; ") for c in cookies), cookies
        # gunicorn's default request line limit (4094) would answer this itself, in plain
        # text; raised, it passes the URI to the app, which gives the JSON error shape.
        long_uri = f"{base}/api/v2/dags?dag_id_pattern=" + "x" * 6000
        with pytest.raises(urllib.error.HTTPError) as too_long:
            urllib.request.urlopen(long_uri, timeout=5)
        assert too_long.value.code == 414
        assert json.load(too_long.value)["code"] == 414
        _two_requests_on_one_connection_are_counted("127.0.0.1", port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _two_requests_on_one_connection_are_counted(host: str, port: int) -> None:
    """A gthread worker keeps the client's connection for its next requests, and the
    Prometheus multiprocess files count what the worker's threads served."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        sockets = []
        for _ in range(2):
            conn.request("GET", "/api/v2/version")
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200
            sockets.append(conn.sock)  # None once the server closed it
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
        sockets.append(conn.sock)
        assert sockets[0] is not None
        assert all(s is sockets[0] for s in sockets)  # one connection served all three
    finally:
        conn.close()
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("flask_http_request_duration_seconds_count")
        and 'path="/api/v2/version"' in line
    ]
    assert counted, metrics
    assert float(counted[0].rsplit(" ", 1)[1]) >= 2, metrics


def test_gunicorn_runs_threads_with_a_connection_each(tmp_path: Path) -> None:
    settings = load_settings(
        {"LOOM_HOME": str(tmp_path), "LOOM__WEBSERVER__THREADS": "12"}, cwd=tmp_path
    )
    options = gunicorn_options(settings, host="127.0.0.1", port=8080, workers=2)
    assert (options["worker_class"], options["workers"], options["threads"]) == ("gthread", 2, 12)
    assert options["keepalive"] == 5
    assert settings.database.pool_size == 5
    assert with_pool_for_threads(settings).database.pool_size == 12
    roomy = load_settings(
        {"LOOM_HOME": str(tmp_path), "LOOM__DATABASE__POOL_SIZE": "20"}, cwd=tmp_path
    )
    assert with_pool_for_threads(roomy).database.pool_size == 20


def _poll(url: str, deadline: float) -> dict[str, Any]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                result: dict[str, Any] = json.load(reply)
                return result
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
