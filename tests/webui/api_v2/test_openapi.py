"""``/api/v2/openapi.json``: a valid OpenAPI 3 document, every operation declaring its
permission, at Airflow 3's paths."""

from __future__ import annotations

from openapi_spec_validator import validate

from engine.security.roles import Action, Resource
from tests.webui.spec import openapi, operations

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
        else:
            assert permission == "public", f"{method.upper()} {path}: {permission}"


def test_airflow_3_paths_are_served() -> None:
    paths = set(openapi("v2")["paths"])
    for path in (
        "/auth/token",
        "/api/v2/version",
        "/api/v2/monitor/health",
        "/api/v2/dags/{dag_id}/details",
        "/api/v2/dags/{dag_id}/dagRuns/list",
        "/api/v2/dags/{dag_id}/clearTaskInstances",
        "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}",
    ):
        assert path in paths
