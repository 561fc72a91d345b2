"""``/api/v2/openapi.json``: a valid OpenAPI 3 document, every operation declaring its
permission, at Airflow 3's paths."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from engine.security.roles import Action, Resource
from tests.webui.spec import openapi, operations
from webui.auth.rbac import AUTHENTICATED, PUBLIC, REFRESH

OPERATIONS = operations("v2")


def test_the_document_is_valid_openapi() -> None:
    validate(openapi("v2"))


def test_every_operation_declares_a_permission() -> None:
    assert len(OPERATIONS) >= 25
    for method, path, operation in OPERATIONS:
        permission = operation.get("x-permission")
        assert permission, f"{method.upper()} {path} declares no permission"
        if ":" in permission:
            action, resource = permission.split(":")
            Action(action), Resource(resource)  # in the catalogue
        else:  # no token, any signed-in user (/auth/me, /auth/logout), a refresh token
            assert permission in (PUBLIC, AUTHENTICATED, REFRESH), f"{method} {path}: {permission}"


AIRFLOW_PATHS = (
    "/auth/token",
    "/api/v2/version",
    "/api/v2/monitor/health",
    "/api/v2/dags/{dag_id}/details",
    "/api/v2/dags/{dag_id}/dagRuns/list",
    "/api/v2/dags/{dag_id}/clearTaskInstances",
    "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}",
)
"""Some of Airflow 3's paths."""
LOOM_PATHS = (
    "/auth/refresh",
    "/auth/logout",
    "/auth/me",
    "/api/v2/deadLetters/{dead_letter_id}/replay",
    "/api/v2/notifications/{notification_id}",
    "/api/v2/users/{username}/disable",
    "/api/v2/roles/{role_name}",
    "/api/v2/permissions",
    "/api/v2/auditLog",
)
"""Loom's own resources, served beside Airflow's."""


@pytest.mark.parametrize("path", AIRFLOW_PATHS + LOOM_PATHS)
def test_airflows_paths_and_looms_own_are_served(path: str) -> None:
    assert path in openapi("v2")["paths"]
