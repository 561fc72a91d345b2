"""Every resource against a real PostgreSQL (and Redis and RabbitMQ for /health)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.scheduling.heartbeats import record_scheduler_heartbeat
from engine.timeutil import utcnow
from tests.support.services import redis_url
from tests.webui.conftest import app_for, bearer, login
from tests.webui.world import PASSWORD, build_world
from webui import db

pytestmark = pytest.mark.postgres
RUN = "/api/v2/dags/example/dagRuns/manual__1"


@pytest.fixture
def pg(pg_client: FlaskClient) -> Callable[..., Any]:
    tokens = {
        role: bearer(login(pg_client, role.lower())["access_token"])
        for role in ("User", "Op", "Admin")
    }

    def call(method: str, path: str, role: str = "Admin", status: int = 200, **kwargs: Any) -> Any:
        response = pg_client.open(path, method=method, headers=tokens[role], **kwargs)
        assert response.status_code == status, response.get_json()
        return response.get_json() if response.data else {}

    return call


def test_dags_list_filter_get_pause_source_tasks_delete(pg: Callable[..., Any]) -> None:
    tagged = pg("GET", "/api/v2/dags?tags=finance&tags=other")["dags"]
    assert [d["dag_id"] for d in tagged] == ["finance_report"]
    assert [d["dag_id"] for d in pg("GET", "/api/v2/dags?dag_id_pattern=xampl")["dags"]] == [
        "example"
    ]
    assert (
        pg("PATCH", "/api/v2/dags/example", "User", json={"is_paused": True})["is_paused"] is True
    )
    assert [d["dag_id"] for d in pg("GET", "/api/v2/dags?paused=true")["dags"]] == ["example"]
    assert "BashOperator" in pg("GET", "/api/v2/dagSources/example")["content"]
    tasks = {t["task_id"]: t for t in pg("GET", "/api/v2/dags/example/tasks")["tasks"]}
    assert {name: t["downstream_task_ids"] for name, t in tasks.items()} == {
        "extract": ["load"],
        "load": [],
    }
    assert {name: t["retries"] for name, t in tasks.items()} == {"extract": 0, "load": 0}
    load = tasks["load"]
    assert (load["task_display_name"], load["doc_md"]) == ("Load rows", "Loads <b>rows</b>.")
    assert (load["weight_rule"], load["priority_weight"], load["queue"]) == (
        "downstream", 1, None,
    )  # fmt: skip
    pg("DELETE", "/api/v2/dags/finance_report", status=204)
    pg("GET", "/api/v2/dags/finance_report", status=404)
    gone = pg("POST", "/api/v2/dags/~/dagRuns/list", json={"dag_ids": ["finance_report"]})
    assert gone["total_entries"] == 0


def clear_extract(pg: Callable[..., Any], *, include_downstream: bool) -> list[str]:
    """Clear ``extract`` of ``manual__1`` for real, as User: the task ids cleared, sorted."""
    cleared = pg(
        "POST",
        "/api/v2/dags/example/clearTaskInstances",
        "User",
        json={
            "dry_run": False,
            "dag_run_id": "manual__1",
            "task_ids": ["extract"],
            "only_failed": False,
            "include_downstream": include_downstream,
        },
    )
    return sorted(ti["task_id"] for ti in cleared["task_instances"])


def test_runs_trigger_filter_mark_clear_delete(pg: Callable[..., Any]) -> None:
    later = "2030-01-01T00:00:00+00:00"
    run = pg(
        "POST",
        "/api/v2/dags/example/dagRuns",
        "User",
        json={"conf": {"n": 7}, "dag_run_id": "api_run", "logical_date": None, "run_after": later},
    )
    assert (run["state"], run["conf"], run["triggering_user_name"]) == ("queued", {"n": 7}, "user")
    assert run["run_after"].startswith("2030-01-01")
    queued = pg("GET", "/api/v2/dags/example/dagRuns?state=queued&order_by=dag_run_id")
    assert [r["dag_run_id"] for r in queued["dag_runs"]] == ["api_run", "manual__1"]
    dated = pg(
        "GET",
        "/api/v2/dags/~/dagRuns"
        "?logical_date_gte=2026-01-05T00:00:00Z&logical_date_lte=2026-01-05T00:00:01Z",
    )
    assert {(r["dag_id"], r["dag_run_id"]) for r in dated["dag_runs"]} == {
        ("example", "manual__1"),
        ("finance_report", "manual__1"),
    }
    assert pg("PATCH", RUN, "User", json={"state": "failed"})["state"] == "failed"
    assert clear_extract(pg, include_downstream=True) == ["extract", "load"]
    assert pg("GET", RUN)["state"] == "queued"
    pg("DELETE", "/api/v2/dags/example/dagRuns/api_run", "User", status=204)
    pg("GET", "/api/v2/dags/example/dagRuns/api_run", status=404)


def test_task_instances_mark_clear_logs_xcom(pg: Callable[..., Any]) -> None:
    tis = pg("GET", f"{RUN}/taskInstances?state=failed")
    assert [ti["task_id"] for ti in tis["task_instances"]] == ["extract"]
    marked = pg("PATCH", f"{RUN}/taskInstances/extract", "User", json={"new_state": "success"})
    assert [ti["state"] for ti in marked["task_instances"]] == ["success"]
    log = pg("GET", f"{RUN}/taskInstances/extract/logs/1")
    assert log["content"] == [{"event": "extracting 2"}, {"event": "failed"}]
    assert log["continuation_token"] == "20"
    tail = pg("GET", f"{RUN}/taskInstances/extract/logs/1?token=13")
    assert (tail["content"], tail["continuation_token"]) == ([{"event": "failed"}], "20")
    xcoms = pg("GET", f"{RUN}/taskInstances/extract/xcomEntries")
    assert [x["key"] for x in xcoms["xcom_entries"]] == ["rows"]
    assert pg("GET", f"{RUN}/taskInstances/extract/xcomEntries/rows")["value"] == {"count": 3}
    assert clear_extract(pg, include_downstream=False) == ["extract"]
    assert pg("GET", f"{RUN}/taskInstances/extract")["state"] is None


def test_pools_crud(pg: Callable[..., Any]) -> None:
    created = pg("POST", "/api/v2/pools", "Op", status=201, json={"name": "gpu", "slots": 2})
    assert (created["slots"], created["open_slots"]) == (2, 2)
    assert pg("PATCH", "/api/v2/pools/gpu", "Op", json={"slots": 5})["slots"] == 5
    assert [p["name"] for p in pg("GET", "/api/v2/pools", "Op")["pools"]] == [
        "default_pool",
        "etl",
        "gpu",
    ]
    pg("DELETE", "/api/v2/pools/gpu", "Op", status=204)
    pg("DELETE", "/api/v2/pools/default_pool", "Op", status=409)


def test_dead_letters_list_get_replay_discard(pg: Callable[..., Any]) -> None:
    letters = pg("GET", "/api/v2/deadLetters?state=pending", "Op")
    assert [d["task_id"] for d in letters["dead_letters"]] == ["extract"]
    assert letters["total_entries"] == 1
    assert pg("GET", "/api/v2/deadLetters/1", "Op")["payload"]["error"]["message"] == "boom"
    replayed = pg("POST", "/api/v2/deadLetters/1/replay", "Op")
    assert (replayed["state"], replayed["resolved_by"]) == ("replayed", "op")
    pg("POST", "/api/v2/deadLetters/1/discard", "Op", status=409)
    assert pg("GET", f"{RUN}/taskInstances/extract")["state"] is None  # Airflow's "no status"


def test_users_and_roles_crud(pg: Callable[..., Any]) -> None:
    role = pg(
        "POST",
        "/api/v2/roles",
        status=201,
        json={
            "name": "Auditor",
            "dag_tags": ["etl"],
            "permissions": [
                {"action": "read", "resource": "audit_log"},
                {"action": "read", "resource": "dags"},
            ],
        },
    )
    assert (role["is_builtin"], role["dag_tags"]) == (False, ["etl"])
    user = pg(
        "POST",
        "/api/v2/users",
        status=201,
        json={"username": "aud", "password": PASSWORD, "roles": ["Auditor"], "email": "a@x.io"},
    )
    assert user["roles"] == ["Auditor"]
    pg(
        "PATCH",
        "/api/v2/roles/Auditor",
        json={"permissions": [{"action": "read", "resource": "dags"}]},
    )
    assert pg("GET", "/api/v2/roles/Auditor")["permissions"] == [
        {"action": "read", "resource": "dags"}
    ]
    assert pg("PATCH", "/api/v2/users/aud", json={"roles": ["Viewer", "Auditor"]})["roles"] == [
        "Auditor",
        "Viewer",
    ]
    pg("PATCH", "/api/v2/roles/Viewer", status=409, json={"permissions": []})
    pg("DELETE", "/api/v2/roles/Auditor", status=204)
    assert pg("GET", "/api/v2/users/aud")["roles"] == ["Viewer"]
    pg("DELETE", "/api/v2/users/aud", status=204)
    pg("DELETE", "/api/v2/users/admin", status=409)  # not yourself
    permissions = pg("GET", "/api/v2/permissions")
    assert len(permissions["permissions"]) == permissions["total_entries"] >= 40


@pytest.mark.redis
@pytest.mark.rabbitmq
def test_health_reports_every_component(postgres_url: str, tmp_path: Path) -> None:
    world = build_world(postgres_url, tmp_path / "dags")

    def on_rq(redis_url: str, **sections: dict[str, Any]) -> Flask:
        return app_for(
            postgres_url,
            tmp_path,
            world.dags_folder,
            executor={"kind": "rq"},
            redis={"url": redis_url},
            **sections,
        )

    app = on_rq(redis_url(11), dlq={"amqp_url": "amqp://guest:guest@127.0.0.1:5672/%2F"})
    client = app.test_client()
    body = client.get("/api/v2/monitor/health").get_json()
    assert {name: c["status"] for name, c in body.items()} == {
        "metadatabase": "healthy",
        "redis": "healthy",
        "rabbitmq": "healthy",
        "scheduler": "unhealthy",
        "dag_processor": "unhealthy",
        "triggerer": None,
    }
    with app.app_context(), db.sessions().begin() as session:
        record_scheduler_heartbeat(session=session, now=utcnow())
    response = client.get("/api/v2/monitor/health")
    assert response.status_code == 200
    assert {c["status"] for c in response.get_json().values()} == {"healthy", None}
    broken = on_rq("redis://127.0.0.1:1/11")
    components = broken.test_client().get("/api/v2/monitor/health").get_json()
    assert components["redis"]["status"] == "unhealthy"
    assert components["rabbitmq"]["status"] is None  # no dlq.amqp_url: dead letters in the db
