"""Running the webserver: gunicorn for ``loom webserver``, waitress in a thread for
``loom standalone`` (a production WSGI server that costs no process of its own: see
docs/decisions.md).

``loom standalone`` needs no configuration, so :func:`ensure_secret_key` generates a
signing key once and keeps it in ``$LOOM_HOME/webserver_secret_key`` (mode 0600); a
production start (``loom webserver``) never does this and refuses to run without
``webserver.secret_key``.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics
from waitress import wasyncore
from waitress.server import create_server

from engine.config import Settings
from engine.config.schema import local_url
from engine.metrics.exposition import use_multiprocess_dir
from engine.runtime.generated import WEBSERVER_SECRET_FILE
from engine.runtime.processlog import configure_logging
from webui.accesslog import with_access_log
from webui.app import create_app
from webui.auth import check_secret
from webui.db import dispose

logger = logging.getLogger(__name__)

SECRET_FILE = WEBSERVER_SECRET_FILE


def ensure_secret_key(settings: Settings) -> Settings:
    """``settings`` with a secret key: the configured one, else one kept in LOOM_HOME."""
    if settings.webserver.secret_key:
        return settings
    path = Path(settings.home) / SECRET_FILE
    if path.exists():
        key = path.read_text().strip()
    else:
        key = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key + "\n")
        logger.info("generated a webserver secret key in %s", path)
    webserver = settings.webserver.model_copy(update={"secret_key": key})
    return settings.model_copy(update={"webserver": webserver})


STOP_POLL_SECONDS = 0.2
"""How often the standalone webserver's loop looks whether it should stop."""


def serve_in_thread(settings: Settings, stop_event: threading.Event) -> threading.Thread:
    """Serve the app with waitress on ``webserver.host:port`` in a daemon thread (requests
    on ``webserver.threads`` threads of waitress's) until ``stop_event`` is set.

    For ``loom standalone``: the secret key comes from :func:`ensure_secret_key`. The
    port is bound before this returns, so a busy port fails the caller at once.
    """
    app = create_app(ensure_secret_key(settings))
    web = settings.webserver
    sockets: dict[int, Any] = {}
    server = create_server(
        with_access_log(app) if web.access_log else app,
        map=sockets,
        host=web.host,
        port=web.port,
        threads=web.threads,
        ident="Loom",
        # whom to believe about addresses and HTTPS is webserver.proxy_fix's decision
        # (webui/headers.py), not waitress's: it passes the headers on untouched
        clear_untrusted_proxy_headers=False,
        channel_timeout=max(1, round(web.keepalive.total_seconds())),
    )

    def run() -> None:
        while not stop_event.is_set():
            wasyncore.loop(timeout=STOP_POLL_SECONDS, map=sockets, use_poll=True, count=1)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(sockets)
        dispose(app)
        logger.info("webserver stopped")

    thread = threading.Thread(target=run, name="loom-webserver", daemon=True)
    thread.start()
    logger.info("webserver on %s/ (API docs at /api/v2/docs)", local_url(web.host, web.port))
    return thread


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running :func:`create_app` in each worker process (nothing shared by fork)."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        configure_logging(self._settings.logging)
        return create_app(self._settings)


def _forget_worker_metrics(_server: Any, worker: Any) -> None:
    GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)


GUNICORN_REQUEST_LINE_LIMIT = 8190
"""gunicorn's largest request line: longer ones get gunicorn's own plain 400."""


def gunicorn_options(settings: Settings, *, host: str, port: int, workers: int) -> dict[str, Any]:
    """gunicorn's settings for ``loom webserver``: ``workers`` processes of
    ``webserver.threads`` threads each (the ``gthread`` worker): while one request waits
    on PostgreSQL another runs, which a ``sync`` worker (one request at a time) cannot."""
    web = settings.webserver
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": web.threads,
        "keepalive": max(1, round(web.keepalive.total_seconds())),
        "accesslog": "-" if web.access_log else None,
        "loglevel": settings.logging.level.lower(),
        "proc_name": "loom-webserver",
        # gunicorn's most; the app answers URIs over MAX_URI_LENGTH with its JSON 414
        "limit_request_line": GUNICORN_REQUEST_LINE_LIMIT,
        "child_exit": _forget_worker_metrics,
        # gunicorn would take X-Forwarded-Proto from 127.0.0.1 as the scheme; whom to
        # believe about HTTPS is webserver.proxy_fix's decision (webui/headers.py).
        "secure_scheme_headers": {},
    }


def with_pool_for_threads(settings: Settings) -> Settings:
    """``settings`` whose database pool holds a connection for each request thread, so
    that no thread waits for another's connection (``database.pool_size`` when larger)."""
    threads, database = settings.webserver.threads, settings.database
    if database.pool_size >= threads:
        return settings
    return settings.model_copy(
        update={"database": database.model_copy(update={"pool_size": threads})}
    )


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve the API with gunicorn until stopped; refuses to start without a secret key."""
    check_secret(settings.webserver.secret_key)
    use_multiprocess_dir("webserver")  # before the workers fork: they count in files
    options = gunicorn_options(settings, host=host, port=port, workers=workers)
    GunicornServer(with_pool_for_threads(settings), options).run()
