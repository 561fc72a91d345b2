"""The Flask app factory: ``create_app(config=None)``.

``config`` is a :class:`~engine.config.Settings`, or a mapping of Flask settings
(``TESTING``, ``MAX_CONTENT_LENGTH``...) that may carry the Loom settings under
``LOOM_SETTINGS``; without either, :func:`engine.config.load_settings` reads loom.yaml
and the environment. The app refuses to start without ``webserver.secret_key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest, RequestURITooLarge

from engine.config import Settings, load_settings
from webui import audit, auth, db, errors, headers, metrics, remotelogs, ui
from webui.api import v2 as api_v2
from webui.auth import throttle

MAX_CONTENT_LENGTH = 1_048_576
"""Largest request body; a larger one is refused with 413."""

MAX_URI_LENGTH = 4096
"""Longest path and query string; a longer one is refused with 414 (the JSON error shape).
Below gunicorn's own limit (``webui.serve``), so that gunicorn passes such URIs here."""


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the webserver's app: API, web UI, authentication (sign-ins rate-limited), audit,
    errors, headers."""
    overrides: dict[str, Any] = {}
    if isinstance(config, Settings):
        settings = config
    else:
        overrides = dict(config or {})
        settings = overrides.pop("LOOM_SETTINGS", None) or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=auth.check_secret(settings.webserver.secret_key),
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
    )
    app.config.update(overrides)
    app.extensions["loom.settings"] = settings
    errors.init_app(app)
    headers.init_app(app, settings)
    db.init_app(app, settings)
    remotelogs.init_app(app, settings)
    auth.init_app(app, settings)
    throttle.init_app(app, settings)
    api_v2.init_app(app)
    ui.init_app(app, settings)
    audit.init_app(app)
    metrics.init_app(app)
    app.before_request(_refuse_long_uri)
    app.before_request(_refuse_nul)
    return app


def _refuse_long_uri() -> None:
    raw = request.environ.get("RAW_URI") or request.full_path
    if len(raw) > MAX_URI_LENGTH:
        raise RequestURITooLarge(f"the URI is longer than {MAX_URI_LENGTH} characters")


def _refuse_nul() -> None:
    """A NUL character can be no id or filter value (PostgreSQL refuses it in text)."""
    if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
        raise BadRequest("the URL contains a NUL character")
