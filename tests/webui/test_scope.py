"""A role limited to DAGs with some tags never sees other DAGs, in lists or by id."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

Headers = Callable[[str], dict[str, str]]


def test_a_tag_limited_role_sees_only_its_dags_in_every_list(
    client: FlaskClient, as_role: Headers
) -> None:
    etl, admin = as_role("etl"), as_role("Admin")
    dags = client.get("/api/v1/dags", headers=etl).get_json()
    assert [d["dag_id"] for d in dags["items"]] == ["example"]
    assert dags["total"] == 1
    runs = client.get("/api/v1/dagRuns", headers=etl).get_json()
    assert {r["dag_id"] for r in runs["items"]} == {"example"}
    asked = client.get("/api/v1/dagRuns?dag_id=finance_report", headers=etl).get_json()
    assert asked["items"] == []
    letters = client.get("/api/v1/deadLetters?dag_id=finance_report", headers=etl).get_json()
    assert letters["total"] == 0
    assert client.get("/api/v1/importErrors", headers=etl).get_json()["total"] == 0
    # The unlimited admin sees both DAGs, their runs and the import error.
    assert client.get("/api/v1/dags", headers=admin).get_json()["total"] == 2
    assert {
        r["dag_id"] for r in client.get("/api/v1/dagRuns", headers=admin).get_json()["items"]
    } == {"example", "finance_report"}
    assert client.get("/api/v1/importErrors", headers=admin).get_json()["total"] == 1


def test_a_tag_limited_role_gets_404_for_other_dags(client: FlaskClient, as_role: Headers) -> None:
    etl = as_role("etl")
    for path in (
        "/api/v1/dags/finance_report",
        "/api/v1/dags/finance_report/graph",
        "/api/v1/dags/finance_report/dagRuns",
        "/api/v1/dags/finance_report/dagRuns/manual__1",
        "/api/v1/dags/finance_report/dagRuns/manual__1/taskInstances",
    ):
        assert client.get(path, headers=etl).status_code == 404, path
    assert client.get("/api/v1/dags/example", headers=etl).status_code == 200
    assert client.get("/api/v1/deadLetters/1", headers=etl).status_code == 200


def test_tags_of_a_role_can_be_changed_through_the_api(
    client: FlaskClient, as_role: Headers
) -> None:
    etl = as_role("etl")
    response = client.patch(
        "/api/v1/roles/EtlViewer", json={"dag_tags": ["finance"]}, headers=as_role("Admin")
    )
    assert response.status_code == 200
    assert [d["dag_id"] for d in client.get("/api/v1/dags", headers=etl).get_json()["items"]] == [
        "finance_report"
    ]
    assert client.get("/api/v1/deadLetters/1", headers=etl).status_code == 404
