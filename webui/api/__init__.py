"""The REST API under ``/api/v1``: flask-smorest blueprints, one per area.

The OpenAPI 3 document is served at ``/api/v1/openapi.json`` and interactive
documentation at ``/api/v1/docs`` (:mod:`webui.api.docs`: Swagger UI served locally).
Every operation declares its permission (:mod:`webui.auth.rbac`); :func:`init_app`
refuses to start when one does not.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from webui.api import (
    assets,
    audit_log,
    auth,
    connections,
    dag_runs,
    dags,
    dead_letters,
    health,
    import_errors,
    notifications,
    pools,
    roles,
    task_instances,
    users,
    variables,
)
from webui.api.blueprint import API_ROOT, LoomApi
from webui.auth import declared_permission

BLUEPRINTS = (
    auth,
    dags,
    dag_runs,
    task_instances,
    import_errors,
    pools,
    variables,
    connections,
    assets,
    dead_letters,
    notifications,
    users,
    roles,
    audit_log,
    health,
)

SPEC_CONFIG: dict[str, Any] = {
    "API_TITLE": "Loom REST API (v1, retiring)",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": API_ROOT,
    "OPENAPI_JSON_PATH": "openapi.json",
}


def init_app(app: Flask) -> Api:
    """Register every blueprint and the OpenAPI document on ``app``."""
    for key, value in SPEC_CONFIG.items():
        app.config.setdefault(key, value)
    api = LoomApi(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    for module in BLUEPRINTS:
        api.register_blueprint(module.blp)
    _check_declarations(app)
    return api


def _check_declarations(app: Flask) -> None:
    names = {module.blp.name for module in BLUEPRINTS}
    missing = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint.split(".")[0] in names and declared_permission(view) is None
    ]
    if missing:
        raise RuntimeError(f"API views without a declared permission: {', '.join(missing)}")
