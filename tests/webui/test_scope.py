"""A role limited to DAGs with some tags never sees other DAGs, in lists or by id."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

Headers = Callable[[str], dict[str, str]]

ALL_RUNS = "/api/v2/dags/~/dagRuns"


def test_a_tag_limited_role_sees_only_its_dags_in_every_list(
    client: FlaskClient, as_role: Headers
) -> None:
    etl, admin = as_role("etl"), as_role("Admin")
    dags = client.get("/api/v2/dags", headers=etl).get_json()
    assert [d["dag_id"] for d in dags["dags"]] == ["example"]
    assert dags["total_entries"] == 1
    runs = client.get(ALL_RUNS, headers=etl).get_json()
    assert {r["dag_id"] for r in runs["dag_runs"]} == {"example"}
    asked = client.post(f"{ALL_RUNS}/list", json={"dag_ids": ["finance_report"]}, headers=etl)
    assert asked.status_code == 200
    assert asked.get_json()["dag_runs"] == []
    letters = client.get("/api/v2/deadLetters?dag_id=finance_report", headers=etl).get_json()
    assert letters == {"dead_letters": [], "total_entries": 0}
    mine = client.get("/api/v2/deadLetters?dag_id=example", headers=etl).get_json()
    assert mine["total_entries"] == 1
    assert client.get("/api/v2/importErrors", headers=etl).get_json()["total_entries"] == 0
    # The unlimited admin sees both DAGs, their runs and the import error.
    assert client.get("/api/v2/dags", headers=admin).get_json()["total_entries"] == 2
    assert {r["dag_id"] for r in client.get(ALL_RUNS, headers=admin).get_json()["dag_runs"]} == {
        "example",
        "finance_report",
    }
    asked = client.post(f"{ALL_RUNS}/list", json={"dag_ids": ["finance_report"]}, headers=admin)
    assert {r["dag_id"] for r in asked.get_json()["dag_runs"]} == {"finance_report"}
    assert client.get("/api/v2/importErrors", headers=admin).get_json()["total_entries"] == 1


def test_a_tag_limited_role_gets_404_for_other_dags(client: FlaskClient, as_role: Headers) -> None:
    etl = as_role("etl")
    for path in (
        "/api/v2/dags/finance_report",
        "/api/v2/dags/finance_report/details",
        "/api/v2/dags/finance_report/tasks",
        "/api/v2/dagSources/finance_report",
        "/api/v2/dags/finance_report/dagRuns",
        "/api/v2/dags/finance_report/dagRuns/manual__1",
        "/api/v2/dags/finance_report/dagRuns/manual__1/taskInstances",
    ):
        assert client.get(path, headers=etl).status_code == 404, path
    assert client.get("/api/v2/dags/example", headers=etl).status_code == 200
    assert client.get("/api/v2/dags/example/tasks", headers=etl).status_code == 200
    assert client.get("/api/v2/deadLetters/1", headers=etl).status_code == 200


def test_tags_of_a_role_can_be_changed_through_the_api(
    client: FlaskClient, as_role: Headers
) -> None:
    etl = as_role("etl")
    response = client.patch(
        "/api/v2/roles/EtlViewer", json={"dag_tags": ["finance"]}, headers=as_role("Admin")
    )
    assert response.status_code == 200
    assert [d["dag_id"] for d in client.get("/api/v2/dags", headers=etl).get_json()["dags"]] == [
        "finance_report"
    ]
    assert client.get("/api/v2/deadLetters/1", headers=etl).status_code == 404
