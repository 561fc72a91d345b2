"""The REST API under ``/api/v2``: Airflow 3's public API, so that Airflow's official
Python client (``apache-airflow-client``) and ``airflowctl`` drive Loom.

Loom's only API. A flask-smorest :class:`~flask_smorest.Api` serves its OpenAPI document
at ``/api/v2/openapi.json``, Swagger UI on it at ``/api/v2/docs``. Operations reuse Loom's
services and its permission machinery: every one declares its permission (``x-permission``), and
:func:`init_app` refuses to start when one does not. Login is ``POST /auth/token`` at the
root, as in Airflow 3 (with Loom's refresh, logout and me beside it). Loom's own resources
(``/deadLetters``, ``/notifications``, ``/users``, ``/roles``, ``/permissions``,
``/auditLog``) follow the same conventions. Where Loom differs from Airflow: docs/decisions.md.
"""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Flask

from webui.api import docs
from webui.api.v2 import (
    admin,
    assets,
    audit_log,
    auth,
    backfills,
    dag_runs,
    dag_stats,
    dag_versions,
    dags,
    dead_letters,
    monitor,
    notifications,
    roles,
    secrets,
    task_instances,
    users,
)
from webui.api.v2.common import API_ROOT
from webui.auth import declared_permission
from webui.errors import ErrorSchema

BLUEPRINTS = (
    auth.blp,
    monitor.blp,
    dags.blp,
    dags.sources,
    dag_versions.blp,
    dag_stats.stats,
    dag_stats.warnings,
    dag_runs.blp,
    task_instances.blp,
    task_instances.clearing,
    secrets.variables,
    secrets.connections,
    admin.pools,
    admin.import_errors,
    admin.event_logs,
    assets.blp,
    assets.dag_queues,
    backfills.blp,
    # Loom's own resources (Airflow has none): docs/decisions.md
    dead_letters.blp,
    notifications.blp,
    users.blp,
    roles.blp,
    roles.permissions,
    audit_log.blp,
)


class LoomApi(flask_smorest.Api):  # type: ignore[misc]  # flask-smorest is untyped
    """flask-smorest's Api with Loom's error shape; errors are handled by :mod:`webui.errors`."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Leave error handling to :func:`webui.errors.init_app` (one handler for all)."""


SPEC_CONFIG: dict[str, Any] = {
    "API_TITLE": "Loom REST API",
    "API_VERSION": "v2",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": API_ROOT,
    "OPENAPI_JSON_PATH": "openapi.json",
}


def init_app(app: Flask) -> LoomApi:
    """Register every ``/api/v2`` blueprint and its OpenAPI document on ``app``."""
    for key, value in SPEC_CONFIG.items():
        app.config.setdefault(key, value)
    api = LoomApi(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
    _check_declarations(app)
    return api


def _check_declarations(app: Flask) -> None:
    names = {blueprint.name for blueprint in BLUEPRINTS}
    missing = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint.split(".")[0] in names and declared_permission(view) is None
    ]
    if missing:
        raise RuntimeError(f"API v2 views without a declared permission: {', '.join(missing)}")
