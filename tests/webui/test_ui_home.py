"""The home page: processes' heartbeats, runs and task instances by state over a window,
recent failures, pools, import errors and dead letters, each within the user's scope and
permissions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import DagRun, ProcessKind, TaskInstance
from engine.scheduling.heartbeats import record_process_heartbeat, record_scheduler_heartbeat
from engine.security.roles import create_role
from engine.security.users import create_user
from engine.state import TaskInstanceState
from engine.timeutil import utcnow
from tests.webui.admin import text_of
from tests.webui.ui import csrf_of, page_as, ui_sign_in
from tests.webui.world import PASSWORD
from webui import db


def age_rows(app: Flask, dag_id: str, age: timedelta) -> None:
    """Make ``dag_id``'s runs and task instances last change ``age`` ago."""
    when = utcnow() - age
    with app.app_context():
        session = db.session()
        session.execute(sa.update(DagRun).where(DagRun.dag_id == dag_id).values(updated_at=when))
        session.execute(
            sa.update(TaskInstance).where(TaskInstance.dag_id == dag_id).values(updated_at=when)
        )
        db.commit()


def counts(page: str, label: str) -> dict[str, int]:
    """The state counts of the list labelled ``label``: state → number."""
    found = re.search(rf'<ul class="state-counts" aria-label="{label}">(.*?)</ul>', page, re.S)
    assert found is not None, f"no {label} on the page"
    items = re.findall(r'<li data-state="(\w+)">.*?<strong>(\d+)</strong></li>', found.group(1))
    return {state: int(number) for state, number in items}


def component(page: str, name: str) -> str:
    """The text of the process ``name``'s row in the health table."""
    found = re.search(rf'<tr data-component="{name}">(.*?)</tr>', page, re.S)
    assert found is not None, f"no {name} row"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


@pytest.fixture
def aged(app: Flask) -> Flask:
    """example changed 2 hours ago, finance_report 3 days ago."""
    age_rows(app, "example", timedelta(hours=2))
    age_rows(app, "finance_report", timedelta(days=3))
    return app


def test_sign_in_lands_on_the_home_page_linked_in_the_nav(client: FlaskClient) -> None:
    assert client.get("/").headers["Location"].startswith("/login")
    form = {"username": "viewer", "password": PASSWORD}
    form["csrf_token"] = csrf_of(text_of(client.get("/login")))
    assert client.post("/login", data=form).headers["Location"] == "/"
    page = text_of(client.get("/"))
    assert "<h1>Home</h1>" in page
    assert '<a href="/" aria-current="page">Home</a>' in page


def test_counts_follow_the_chosen_window(aged: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    hour = text_of(client.get("/?window=1h"))
    assert sum(counts(hour, "Runs by state").values()) == 0
    day = text_of(client.get("/?window=24h"))
    assert counts(day, "Runs by state")["queued"] == 1  # example's run only
    assert counts(day, "Task instances by state")["failed"] == 1
    week = text_of(client.get("/?window=7d"))
    assert counts(week, "Runs by state")["queued"] == 2
    assert counts(week, "Task instances by state") == {
        "none": 2,
        "queued": 0,
        "running": 0,
        "success": 0,
        "failed": 1,
    }
    assert '<a href="/?window=7d" aria-current="true">7d</a>' in week


def test_a_tag_limited_role_counts_its_dags_only(aged: Flask, client: FlaskClient) -> None:
    page = page_as(client, "etl", "/?window=7d")
    assert counts(page, "Runs by state")["queued"] == 1  # example (tag etl), not finance
    assert sum(counts(page, "Task instances by state").values()) == 2
    assert "finance_report" not in page
    assert "<strong>0</strong> import errors" in page  # broken.py defines none of its DAGs


def test_recent_failures_link_to_the_run_and_the_task_instance(
    aged: Flask, client: FlaskClient
) -> None:
    page = page_as(client, "Viewer", "/")
    assert '<a href="/dags/example/runs/manual__1">manual__1</a>' in page
    assert '<a href="/dags/example/runs/manual__1/tasks/extract">extract</a>' in page
    hour = text_of(client.get("/?window=1h"))
    assert "No task failed in the last 1h." in hour


def test_health_from_heartbeats_and_honest_about_none(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    page = text_of(client.get("/"))
    for name in ("scheduler", "triggerer", "workers", "notifier"):
        assert "no heartbeat recorded" in component(page, name)
    now = utcnow()
    with app.app_context():
        session = db.session()
        record_scheduler_heartbeat(session=session, now=now, id="host:1")
        ti = session.scalars(sa.select(TaskInstance).where(TaskInstance.task_id == "load")).one()
        ti.state = TaskInstanceState.SCHEDULED
        ti.state = TaskInstanceState.QUEUED
        ti.state = TaskInstanceState.RUNNING
        ti.last_heartbeat_at = now - timedelta(seconds=5)
        db.commit()
    page = text_of(client.get("/"))
    assert component(page, "scheduler").startswith("Scheduler ✓ healthy")
    assert now.strftime("%Y-%m-%d %H:%M:%S") in component(page, "scheduler")
    # A running try without a worker's own heartbeat is no proof of a live worker.
    assert "no worker has run; 1 running task" in component(page, "workers")
    assert "no notifier has run" in component(page, "notifier")
    assert "no heartbeat recorded" in component(page, "triggerer")
    with app.app_context():
        session = db.session()
        for key, ago in (("host:2", 5), ("host:3", 3600)):  # host:3 died without a clean stop
            at = now - timedelta(seconds=ago)
            record_process_heartbeat(session=session, kind=ProcessKind.WORKER, now=at, id=key)
        record_process_heartbeat(session=session, kind=ProcessKind.NOTIFIER, now=now, id="host:2")
        db.commit()
    page = text_of(client.get("/"))
    assert component(page, "workers").startswith("Workers ✓ healthy 1 alive, 1 silent; 1 running")
    assert component(page, "notifier").startswith("Notifier ✓ healthy 1 alive")
    with app.app_context():
        session = db.session()
        record_scheduler_heartbeat(session=session, now=now - timedelta(hours=1), id="host:1")
        old = now - timedelta(hours=1)
        record_process_heartbeat(session=session, kind=ProcessKind.WORKER, now=old, id="host:2")
        db.commit()
    page = text_of(client.get("/"))
    assert "✗ unhealthy" in component(page, "scheduler")
    assert component(page, "workers").startswith("Workers ✗ unhealthy 0 alive, 2 silent")


def test_pools_import_errors_and_dead_letters(app: Flask, client: FlaskClient) -> None:
    page = page_as(client, "Op", "/")
    pools = re.search(r'<tr data-pool="etl">(.*?)</tr>', page, re.S)
    assert pools is not None
    assert re.findall(r"<td>(\d+)</td>", pools.group(1)) == ["4", "0", "4"]
    assert "<strong>1</strong> import error:" in page
    assert re.search(r'<a href="/import-errors/\d+">/dags/broken.py</a>', page)
    assert '<a href="/dead-letters"><strong>1</strong> dead letter waiting</a>' in page


def test_a_role_without_those_permissions_sees_none_of_them(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        session = db.session()
        create_role(
            session=session,
            name="RunsOnly",
            permissions=[("read", "dags"), ("read", "dag_runs")],
        )
        create_user(session=session, username="runs", password=PASSWORD, role_names=["RunsOnly"])
        db.commit()
    page = page_as(client, "runs", "/?window=7d")
    assert counts(page, "Runs by state")["queued"] == 2
    for hidden in ("dead letter", "Task instances", "import error", "Pools", "Processes"):
        assert hidden not in page, hidden


def test_an_unknown_window_is_a_clear_400(client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    reply = client.get("/?window=3y")
    assert reply.status_code == 400
    assert "window: &#39;3y&#39; is not one of 1h, 24h, 7d" in text_of(reply)


@pytest.mark.postgres
def test_home_on_postgresql(pg_app: Flask, pg_client: FlaskClient) -> None:
    age_rows(pg_app, "finance_report", timedelta(days=3))
    page = page_as(pg_client, "etl", "/?window=24h")
    assert counts(page, "Runs by state")["queued"] == 1
    assert counts(page, "Task instances by state")["failed"] == 1
    assert "manual__1/tasks/extract" in page
