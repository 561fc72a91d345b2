"""Bad input never yields a 500: one JSON error shape with 400/404/409/413/422."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.models import AuditLog
from webui import db
from webui.api.schemas.common import MAX_LIMIT
from webui.app import MAX_CONTENT_LENGTH

Headers = Callable[[str], dict[str, str]]
SHAPE = {"code", "message", "errors", "detail"}  # detail: what Airflow 3's clients read


def test_malformed_json_is_400(client: FlaskClient, as_role: Headers) -> None:
    response = client.post(
        "/api/v2/pools",
        data="{not json",
        headers={**as_role("Op"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == SHAPE
    assert body["detail"] == "the request body is not valid JSON"


def test_wrong_types_are_422_with_errors_by_field(client: FlaskClient, as_role: Headers) -> None:
    response = client.post(
        "/api/v2/pools", json={"name": 5, "slots": "many", "color": "red"}, headers=as_role("Op")
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"name", "slots", "color"}
    assert errors["slots"] == ["Not a valid integer."]


def test_domain_validation_is_422_naming_the_field(client: FlaskClient, as_role: Headers) -> None:
    response = client.post(
        "/api/v2/dags/example/dagRuns",
        json={"conf": {"n": "five"}, "logical_date": None},
        headers=as_role("User"),
    )
    assert response.status_code == 422
    assert "param 'n' must be of type integer" in response.get_json()["detail"]
    both = client.post(
        "/api/v2/dags/example/dagRuns",
        json={"conf": {"n": "five", "region": ["eu"]}, "logical_date": None},
        headers=as_role("User"),
    )
    assert both.status_code == 422
    assert both.get_json()["errors"] == {
        "conf.n": ["must be of type integer, got str"],
        "conf.region": ["must be of type string, got list"],
    }


def test_a_short_password_is_422_naming_the_field(client: FlaskClient, as_role: Headers) -> None:
    short = client.post(
        "/api/v2/users",
        json={"username": "u", "password": "short", "roles": ["Viewer"]},
        headers=as_role("Admin"),
    )
    assert short.status_code == 422
    assert short.get_json()["errors"] == {"password": ["must be at least 8 characters long"]}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/dags/nope",
        "/api/v2/dags/example/dagRuns/nope",
        "/api/v2/dags/example/dagRuns/manual__1/taskInstances/nope",
        "/api/v2/dags/example/dagRuns/manual__1/taskInstances/extract/logs/9",
        "/api/v2/pools/nope",
        "/api/v2/importErrors/999",
        "/api/v2/deadLetters/999",
        "/api/v2/users/nope",
        "/api/v2/roles/nope",
        "/api/v2/no/such/route",
    ],
)
def test_unknown_ids_are_404(client: FlaskClient, as_role: Headers, path: str) -> None:
    response = client.get(path, headers=as_role("Admin"))
    assert response.status_code == 404
    assert set(response.get_json()) == SHAPE


@pytest.mark.parametrize("path", ["/api/v1/dags", "/api/v1/openapi.json", "/api/v1/docs"])
def test_api_v1_is_gone(client: FlaskClient, as_role: Headers, path: str) -> None:
    """One API, not two: ``/api/v1`` answers 404 in the API's error shape."""
    response = client.get(path, headers=as_role("Admin"))
    assert response.status_code == 404
    assert set(response.get_json()) == SHAPE


def test_conflicts_are_409(client: FlaskClient, as_role: Headers) -> None:
    taken = client.post("/api/v2/pools", json={"name": "etl", "slots": 1}, headers=as_role("Op"))
    assert taken.status_code == 409
    trigger = client.post(
        "/api/v2/dags/example/dagRuns",
        json={"logical_date": None, "dag_run_id": "manual__1"},
        headers=as_role("User"),
    )
    assert trigger.status_code == 409


def test_a_builtin_role_is_409(client: FlaskClient, as_role: Headers) -> None:
    builtin = client.delete("/api/v2/roles/Viewer", headers=as_role("Admin"))
    assert builtin.status_code == 409


def test_an_oversized_body_is_413(client: FlaskClient, as_role: Headers) -> None:
    big = {"name": "big", "slots": 1, "description": "x" * (MAX_CONTENT_LENGTH + 1)}
    response = client.post("/api/v2/pools", json=big, headers=as_role("Op"))
    assert response.status_code == 413
    assert set(response.get_json()) == SHAPE


def test_page_sizes_are_capped(app: Flask, client: FlaskClient, as_role: Headers) -> None:
    with app.app_context():
        db.session().add_all(
            AuditLog(action="test", outcome="success") for _ in range(MAX_LIMIT + 5)
        )
        db.commit()
    page = client.get(f"/api/v2/eventLogs?limit={MAX_LIMIT * 50}", headers=as_role("Admin"))
    assert page.status_code == 200
    body = page.get_json()
    assert body["total_entries"] > MAX_LIMIT
    assert len(body["event_logs"]) == MAX_LIMIT


def test_paging_and_ordering(client: FlaskClient, as_role: Headers) -> None:
    admin = as_role("Admin")
    first = client.get("/api/v2/users?limit=2&order_by=-username", headers=admin).get_json()
    assert [u["username"] for u in first["users"]] == ["viewer", "victim"]
    assert first["total_entries"] == 6
    second = client.get("/api/v2/users?limit=2&offset=2&order_by=-username", headers=admin)
    assert [u["username"] for u in second.get_json()["users"]] == ["user", "op"]
    bad = client.get("/api/v2/users?order_by=password_hash", headers=admin)
    assert bad.status_code == 422
    assert "order_by" in bad.get_json()["errors"]
    empty = client.get("/api/v2/users?limit=0", headers=admin)  # as Airflow: a count only
    assert empty.status_code == 200
    assert empty.get_json() == {"users": [], "total_entries": 6}
    negative = client.get("/api/v2/users?limit=-1", headers=admin)
    assert negative.status_code == 422
    assert "limit" in negative.get_json()["errors"]


def test_nul_characters_in_ids_are_400(client: FlaskClient, as_role: Headers) -> None:
    response = client.get("/api/v2/dags/a%00b", headers=as_role("Admin"))
    assert response.status_code == 400
    assert set(response.get_json()) == SHAPE
