"""The DAG list (pause switch, trigger of a paused DAG, live latest runs, next run with its
data interval) and the UI's small things: unknown URLs, the favicon, the login form's
focus, the dead letter's broker line."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.models import Dag
from engine.timeutil import utcnow
from tests.webui.admin import letter_id, text_of
from tests.webui.conftest import app_for, parse_new_files, template_app, world_copy, world_dags_copy
from tests.webui.ui import csrf_of, page_as, ui_sign_in
from tests.webui.world import PASSWORD
from webui import db

SWITCH = re.compile(r'<button type="submit" class="switch" role="switch"[^>]*>.*?</button>', re.S)

SCHEDULED = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, CronDataIntervalTimetable, EmptyOperator

    with DAG("hourly", schedule=CronDataIntervalTimetable("0 * * * *"),
             start_date=datetime(2026, 1, 1), catchup=False):
        EmptyOperator(task_id="tick")
    with DAG("on_the_hour", schedule="@hourly", start_date=datetime(2026, 1, 1), catchup=False):
        EmptyOperator(task_id="tick")
    """
)


def switch_of(page: str, dag_id: str) -> str:
    found = [s for s in SWITCH.findall(page) if f'aria-label="{dag_id}: ' in s]
    assert len(found) == 1, f"no one switch of {dag_id}"
    return str(found[0])


def paused(app: Flask, dag_id: str) -> bool:
    with app.app_context():
        return db.session().get_one(Dag, dag_id).is_paused


def test_the_pause_control_is_a_switch_that_shows_the_state(
    app: Flask, client: FlaskClient
) -> None:
    csrf = ui_sign_in(client, "User")
    switch = switch_of(text_of(client.get("/dags")), "example")
    assert 'aria-checked="true"' in switch
    assert '<span class="switch-state">Active</span>' in switch
    assert 'aria-label="example: Active"' in switch
    reply = client.post("/dags/example/pause", data={"csrf_token": csrf, "paused": "true"})
    assert reply.status_code == 302
    assert paused(app, "example")
    switch = switch_of(text_of(client.get("/dags")), "example")
    assert 'aria-checked="false"' in switch
    assert '<span class="switch-state">Paused</span>' in switch
    assert "aria-pressed" not in text_of(client.get("/dags"))
    header = switch_of(text_of(client.get("/dags/example/graph")), "example")  # the DAG page too
    assert 'aria-checked="false"' in header


def test_a_viewer_sees_the_state_without_a_switch(client: FlaskClient) -> None:
    page = page_as(client, "Viewer", "/dags")
    assert 'role="switch"' not in page
    assert '<span class="dag-status active">Active</span>' in page


def test_a_paused_dag_can_be_triggered_from_the_list(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        db.session().get_one(Dag, "example").is_paused = True
        db.commit()
    page = page_as(client, "User", "/dags")
    assert 'href="/dags/example/trigger" aria-label="Trigger example"' in page
    assert 'title="Paused: the run waits until example is unpaused"' in page
    assert 'href="/dags/example/trigger"' in text_of(client.get("/dags/example"))


def test_latest_runs_answer_small_json_within_the_scope(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    page = text_of(client.get("/dags"))
    assert 'data-latest-runs="/latest-runs?dag_id=example&amp;dag_id=finance_report"' in page
    body = client.get("/latest-runs?dag_id=example&dag_id=finance_report").get_json()
    assert body["example"] == [
        {
            "run_id": "manual__1",
            "state": "queued",
            "label": "manual__1: queued",
            "glyph": "⋯",
            "url": "/dags/example/runs/manual__1",
        }
    ]
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    ui_sign_in(client, "etl")
    scoped = client.get("/latest-runs?dag_id=example&dag_id=finance_report").get_json()
    assert list(scoped) == ["example"]


def test_latest_runs_refuse_too_many_dags(client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    query = "&".join(f"dag_id=d{n}" for n in range(51))
    reply = client.get(f"/latest-runs?{query}")
    assert reply.status_code == 400
    assert "at most 50 DAGs at once, not 51" in text_of(reply)


@pytest.fixture
def scheduled_app(template: Path, tmp_path: Path) -> Flask:
    """The test world plus an hourly DAG."""
    url = world_copy(template, tmp_path / "loom.db")
    dags = world_dags_copy(template, tmp_path, **{"scheduled.py": SCHEDULED})
    parse_new_files(url, dags, now=utcnow())
    return app_for(url, tmp_path, dags)


def test_next_run_shows_its_data_interval(scheduled_app: Flask) -> None:
    page = page_as(scheduled_app.test_client(), "Viewer", "/dags")
    row = re.search(r'<tr data-dag="hourly">(.*?)</tr>', page, re.S)
    assert row is not None
    cell = re.search(r'<td class="next-run">(.*?)</td>', row.group(1), re.S)
    assert cell is not None
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cell.group(1))
    run_after, start, end = times
    assert "data interval" in cell.group(1)
    assert start < end == run_after  # due at the end of its interval
    assert start[14:] == end[14:] == "00:00"
    trigger = re.search(
        r'<tr data-dag="on_the_hour">.*?<td class="next-run">(.*?)</td>', page, re.S
    )
    assert trigger is not None
    assert "no data interval (a trigger schedule)" in trigger.group(1)
    none = re.search(r'<tr data-dag="example">.*?<td class="next-run">(.*?)</td>', page, re.S)
    assert none is not None
    assert none.group(1) == "—"


# -- polish ----------------------------------------------------------------------------------


def test_unknown_ui_urls_get_the_html_error_page(client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    reply = client.get("/no/such/page")
    assert reply.status_code == 404
    assert reply.content_type.startswith("text/html")
    page = text_of(reply)
    assert "<h1>404 — Not found</h1>" in page
    assert 'aria-label="Main"' in page  # the signed-in user's navigation
    assert client.get("/logout").status_code == 405  # POST only: the HTML page too
    assert "<h1>405" in text_of(client.get("/logout"))
    for path in ("/api/v2/no-such", "/api/nothing", "/auth/nothing"):
        json_reply = client.get(path)
        assert json_reply.status_code == 404
        assert json_reply.get_json()["code"] == 404, path


def test_unknown_url_signed_out_is_the_html_page_too(client: FlaskClient) -> None:
    reply = client.get("/nothing-here")
    assert reply.status_code == 404
    assert "<h1>404 — Not found</h1>" in text_of(reply)
    assert 'aria-label="Main"' not in text_of(reply)


def test_the_favicon_is_served_and_linked(client: FlaskClient) -> None:
    login = text_of(client.get("/login"))
    assert '<link rel="icon" type="image/svg+xml" href="/ui-static/favicon.svg">' in login
    with client.get("/ui-static/favicon.svg") as icon:
        assert icon.status_code == 200
        assert icon.content_type.startswith("image/svg+xml")
        assert icon.get_data(as_text=True).startswith("<svg")


def test_a_wrong_password_puts_the_focus_on_the_password(client: FlaskClient) -> None:
    form = text_of(client.get("/login"))
    assert re.search(r'<input id="username"[^>]* autofocus>', form)
    reply = client.post(
        "/login",
        data={"username": "viewer", "password": "wrong", "csrf_token": csrf_of(form)},
    )
    assert reply.status_code == 401
    page = text_of(reply)
    assert re.search(r'<input id="password"[^>]* autofocus aria-describedby="login-error">', page)
    assert not re.search(r'<input id="username"[^>]* autofocus', page)
    assert 'value="viewer"' in page
    assert PASSWORD not in page


def test_dead_letters_without_a_broker_say_they_are_kept_in_the_database(
    app: Flask, client: FlaskClient
) -> None:
    page = page_as(client, "Op", f"/dead-letters/{letter_id(app)}")
    assert "Published to the broker" not in page
    assert "kept in the database" in page


def test_dead_letters_with_a_broker_say_whether_they_were_published(
    template: Path, tmp_path: Path
) -> None:
    app = template_app(template, tmp_path, dlq={"amqp_url": "amqp://guest:guest@x//"})
    page = page_as(app.test_client(), "Op", f"/dead-letters/{letter_id(app)}")
    assert "<dt>Published to the broker</dt><dd>not yet</dd>" in page
    assert "kept in the database" not in page


def test_the_dark_theme_is_in_the_stylesheet(client: FlaskClient) -> None:
    with client.get("/ui-static/loom.css") as reply:
        css = reply.get_data(as_text=True)
    dark = css[css.index("@media (prefers-color-scheme: dark)") :]
    assert re.search(r"--bg: #12151c", dark)
