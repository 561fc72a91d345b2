"""Hostile input on PostgreSQL: deep nesting, dates at the calendar's ends, NUL and NaN,
trailing newlines, huge URIs. Each is a 4xx of the usual error shape, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.webui.conftest import bearer, login
from tests.webui.ui import ui_sign_in

pytestmark = pytest.mark.postgres

SHAPE = {"code", "message", "errors", "detail"}
DEEP = "[" * 5000 + "]" * 5000
EDGE_DATES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]


@pytest.fixture
def user(pg_client: FlaskClient) -> dict[str, str]:
    return bearer(login(pg_client, "user")["access_token"])


def runs(client: FlaskClient, headers: dict[str, str]) -> list[str]:
    body = client.get("/api/v2/dags/example/dagRuns", headers=headers).get_json()
    return sorted(run["dag_run_id"] for run in body["dag_runs"])


def refused(response: object, *codes: int) -> dict[str, object]:
    assert response.status_code in codes, response.get_data(as_text=True)  # type: ignore[attr-defined]
    body: dict[str, object] = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == SHAPE
    return body


Trigger = Callable[..., object]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('{"conf": {"a": ' + DEEP + "}}", "nested"),
        ('{"conf": {"a": NaN}}', "NaN"),
        ('{"conf": {"a": Infinity}}', "Infinity"),
        ('{"conf": {"a": "x\\u0000y"}}', "NUL"),
        ('{"conf": {"\\u0000": 1}}', "NUL"),
        ('{"conf": {}, "logical_date": "' + EDGE_DATES[0] + '"}', "out of range"),
        ('{"conf": {}, "logical_date": "' + EDGE_DATES[1] + '"}', "out of range"),
        ('{"conf": {}, "dag_run_id": "nl_test\\n"}', "letters, digits"),
    ],
)
def test_api_trigger_refuses_hostile_bodies(
    pg_client: FlaskClient, user: dict[str, str], body: str, needle: str
) -> None:
    before = runs(pg_client, user)
    response = pg_client.post(
        "/api/v2/dags/example/dagRuns",
        data=body,
        headers={**user, "Content-Type": "application/json"},
    )
    assert needle in str(refused(response, 400, 422)), body[:80]
    assert runs(pg_client, user) == before


@pytest.mark.parametrize(
    ("form", "needle"),
    [
        ({"conf": '{"a": ' + DEEP + "}"}, "nested"),
        ({"conf": '{"a": NaN}'}, "NaN"),
        ({"conf": '{"a": "x\\u0000y"}'}, "NUL"),
        ({"conf": "{}", "logical_date": EDGE_DATES[0]}, "out of range"),
        ({"conf": "{}", "logical_date": EDGE_DATES[1]}, "out of range"),
        ({"conf": "{}", "run_id": "nl_\ntest"}, "letters, digits"),
    ],
)
def test_ui_trigger_form_refuses_hostile_input(
    pg_client: FlaskClient, user: dict[str, str], form: dict[str, str], needle: str
) -> None:
    before = runs(pg_client, user)
    csrf = ui_sign_in(pg_client, "User")
    reply = pg_client.post("/dags/example/trigger", data={"csrf_token": csrf, **form})
    assert reply.status_code == 400, reply.get_data(as_text=True)[:400]
    assert needle in reply.get_data(as_text=True)
    assert runs(pg_client, user) == before


def test_filters_at_the_calendars_ends_are_refused_not_500(
    pg_client: FlaskClient, user: dict[str, str]
) -> None:
    for date in EDGE_DATES:
        response = pg_client.get(
            "/api/v2/dags/example/dagRuns", query_string={"logical_date_gte": date}, headers=user
        )
        refused(response, 400, 422)


def test_a_uri_over_the_limit_gets_the_json_error_shape(
    pg_client: FlaskClient, user: dict[str, str]
) -> None:
    response = pg_client.get("/api/v2/dags?dag_id_pattern=" + "x" * 20_000, headers=user)
    assert refused(response, 414)["code"] == 414
