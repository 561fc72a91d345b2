"""The views of a DAG's runs across time and of one run's timeline: the calendar, the task
duration and landing charts, the run's Gantt chart, and the run's note."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.models import AuditLog, TaskInstance
from engine.models.session import create_db_engine
from engine.services.runs import get_run, trigger_dag
from engine.services.taskinstances import get_task_instance
from engine.state import DagRunState, TaskInstanceState
from tests.webui.ui import ui_sign_in
from tests.webui.world import T0, app_session
from webui.db import dispose

RUN_PAGE = "/dags/example/runs/manual__1"
GANTT = "/dags/example/run-gantt/manual__1"
NOTE = "/dags/example/run-note/manual__1"


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    reply = client.get(url)
    assert reply.status_code == status, reply.get_data(as_text=True)[:2000]
    return reply.get_data(as_text=True)


def ti(session: Session, task_id: str, run_id: str = "manual__1") -> TaskInstance:
    return get_task_instance(session=session, dag_id="example", run_id=run_id, task_id=task_id)


def finished_runs(app: Flask) -> None:
    """manual__1 (2026-01-05) succeeded: extract queued at +0 s, ran +5..+35 s, load
    +40..+50 s; manual__2 (2026-01-07) failed; manual__3 (2026-01-07) still runs."""
    with app_session(app) as session:
        run = get_run(session=session, dag_id="example", run_id="manual__1")
        run.state, run.start_date, run.end_date = DagRunState.SUCCESS, T0, T0 + timedelta(60)
        run.data_interval_end = T0
        extract, load = ti(session, "extract"), ti(session, "load")
        extract.state, load.state = TaskInstanceState.SUCCESS, TaskInstanceState.SUCCESS
        extract.queued_at = T0
        extract.start_date, extract.end_date = T0 + timedelta(seconds=5), T0 + timedelta(seconds=35)
        load.start_date, load.end_date = T0 + timedelta(seconds=40), T0 + timedelta(seconds=50)
        for run_id, state in (("manual__2", DagRunState.FAILED), ("manual__3", None)):
            later = trigger_dag(
                session=session, dag_id="example", run_id=run_id, now=T0 + timedelta(days=2)
            )
            if state is not None:
                later.state = state


# -- calendar ----------------------------------------------------------------------------------


def day_cell(page: str, day: str) -> str:
    match = re.search(rf'<(?:a|rect)[^>]*data-day="{day}"[^>]*>', page)
    assert match is not None, f"no calendar square for {day}"
    return match.group(0)


def test_the_calendar_colours_each_day_by_the_outcome_of_its_runs(
    app: Flask, client: FlaskClient
) -> None:
    finished_runs(app)
    ui_sign_in(client, "Viewer")
    page = get(client, "/dags/example/calendar?year=2026")
    success = day_cell(page, "2026-01-05")
    assert 'data-outcome="success"' in success
    assert 'aria-label="2026-01-05: 1 run (1 success)"' in success
    assert 'href="/dags/example/runs?day=2026-01-05"' in success
    mixed = day_cell(page, "2026-01-07")
    assert 'data-outcome="failed"' in mixed  # a failure outweighs a run still going
    assert "2026-01-07: 2 runs (1 queued, 1 failed)" in mixed
    assert 'data-outcome="none"' in day_cell(page, "2026-01-06")
    assert page.count('class="day ') == 365
    assert 'aria-current="page">Calendar</a>' in page


def test_a_day_with_a_run_still_going_is_running(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    page = get(client, "/dags/example/calendar?year=2026")
    assert 'data-outcome="running"' in day_cell(page, "2026-01-05")  # manual__1 is queued
    assert "No runs in 2025." in get(client, "/dags/example/calendar?year=2025")


def test_a_calendar_day_links_to_the_runs_of_that_day(app: Flask, client: FlaskClient) -> None:
    finished_runs(app)
    ui_sign_in(client, "Viewer")
    page = get(client, "/dags/example/runs?day=2026-01-07")
    assert 'data-run="manual__2"' in page
    assert 'data-run="manual__3"' in page
    assert 'data-run="manual__1"' not in page
    assert "Runs of 2026-01-07" in page
    assert 'data-run="manual__1"' in get(client, "/dags/example/runs?day=2026-01-05")


@pytest.mark.parametrize("query", ["day=2026-13-01", "day=20260105", "day=yesterday"])
def test_a_bad_day_is_refused_by_name(client: FlaskClient, query: str) -> None:
    ui_sign_in(client, "Viewer")
    assert "day: must be a date as YYYY-MM-DD" in get(client, f"/dags/example/runs?{query}", 400)


@pytest.mark.parametrize("year", ["1969", "abc", "-1", "99999"])
def test_a_bad_year_is_refused_by_name(client: FlaskClient, year: str) -> None:
    ui_sign_in(client, "Viewer")
    assert "year: must be a whole number" in get(client, f"/dags/example/calendar?year={year}", 400)


@pytest.mark.postgres
def test_the_calendar_counts_utc_days_on_postgresql(
    pg_app: Flask, pg_client: FlaskClient, postgres_url: str
) -> None:
    far_east = create_db_engine(postgres_url)  # a server whose sessions run 14 hours ahead
    with far_east.begin() as connection:
        name = connection.execute(sa.text("SELECT current_database()")).scalar_one()
        connection.execute(sa.text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Etc/GMT-14'"))
    far_east.dispose()
    dispose(pg_app)  # the app's next connections take the zone
    finished_runs(pg_app)
    with app_session(
        pg_app
    ) as session:  # 23:30 UTC is still the 9th in UTC, whatever the server's zone
        late = T0 + timedelta(days=4, hours=23, minutes=30)
        trigger_dag(session=session, dag_id="example", run_id="late", logical_date=late, now=late)
    ui_sign_in(pg_client, "Viewer")
    page = get(pg_client, "/dags/example/calendar?year=2026")
    assert 'data-outcome="success"' in day_cell(page, "2026-01-05")
    assert "2026-01-07: 2 runs (1 queued, 1 failed)" in day_cell(page, "2026-01-07")
    assert "2026-01-09: 1 run (1 queued)" in day_cell(page, "2026-01-09")
    assert 'data-run="late"' in get(pg_client, "/dags/example/runs?day=2026-01-09")


# -- task duration and landing time ------------------------------------------------------------


def test_the_duration_and_landing_charts_plot_each_finished_task(
    app: Flask, client: FlaskClient
) -> None:
    finished_runs(app)
    ui_sign_in(client, "Viewer")
    page = get(client, "/dags/example/durations")
    duration, landing = page.split('id="landing-chart-title"')
    # a point per task of manual__1, the only run in which tasks finished
    assert len(re.findall(r'<circle[^>]*data-run="manual__1"', duration)) == 2
    assert "extract on manual__1: 30s" in duration
    assert "load on manual__1: 10s" in duration
    # landing: the end (+35 s, +50 s) after the data interval's end (T0)
    assert "extract on manual__1: 35s" in landing
    assert "load on manual__1: 50s" in landing
    assert re.search(
        r'<tr data-task="extract"><th scope="row">extract</th><td>30s</td><td>—</td>', duration
    )
    assert 'aria-current="page">Durations</a>' in page


def test_the_charts_cover_the_runs_asked_for(app: Flask, client: FlaskClient) -> None:
    finished_runs(app)
    ui_sign_in(client, "Viewer")
    page = get(client, "/dags/example/durations?runs=1")  # the newest run only: manual__3
    assert "manual__1" not in page
    assert "manual__3" in page
    assert "<circle" not in page
    assert "runs: must be a whole number from 1 to 200" in get(
        client, "/dags/example/durations?runs=0", 400
    )


# -- Gantt -------------------------------------------------------------------------------------


def test_the_gantt_chart_draws_queued_and_running_segments(app: Flask, client: FlaskClient) -> None:
    finished_runs(app)
    ui_sign_in(client, "Viewer")
    page = get(client, GANTT)
    row = page.split('<tr data-task="extract">', 1)[1].split("</tr>", 1)[0]
    # the timeline runs from extract's queueing (T0) to the run's last end (+50 s)
    assert 'class="seg seg-queued" style="left: 0.00%; width: 10.00%"' in row
    assert 'aria-label="extract: queued 5s, from +0ms"' in row
    assert 'class="seg seg-running state-success" style="left: 10.00%; width: 60.00%"' in row
    load = page.split('<tr data-task="load">', 1)[1].split("</tr>", 1)[0]
    assert "seg-queued" not in load  # no queue time recorded
    assert 'aria-label="load: running 10s, from +40s"' in load
    assert 'href="/dags/example/run-gantt/manual__1"' in get(client, RUN_PAGE)


def test_a_mapped_task_of_many_instances_is_one_summary_row(
    app: Flask, client: FlaskClient
) -> None:
    with app_session(app) as session:
        run = get_run(session=session, dag_id="example", run_id="manual__1")
        for index in range(12):
            session.add(
                TaskInstance(
                    dag_run=run,
                    dag_id="example", run_id="manual__1", task_id="fan", map_index=index,
                    state=TaskInstanceState.SUCCESS, queued_at=T0,
                    start_date=T0 + timedelta(seconds=index),
                    end_date=T0 + timedelta(seconds=index + 10),
                )
            )  # fmt: skip
    ui_sign_in(client, "Viewer")
    page = get(client, GANTT)
    assert page.count('<tr data-task="fan"') == 1
    row = page.split('<tr data-task="fan"', 1)[1].split("</tr>", 1)[0]
    assert 'data-instances="12"' in row
    assert "fan [12]" in row
    assert 'aria-label="fan [12]: running 21s, from +0ms"' in row


def test_a_run_of_nothing_started_has_an_empty_gantt(client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    page = get(client, GANTT)
    assert page.count("not queued yet") == 2
    get(client, "/dags/example/run-gantt/no_such_run", 404)


# -- scope -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/dags/{}/calendar", "/dags/{}/durations", "/dags/{}/run-gantt/manual__1"],
)
def test_a_role_limited_to_some_dags_gets_404_for_the_others(
    client: FlaskClient, path: str
) -> None:
    ui_sign_in(client, "etl")  # EtlViewer: the DAGs tagged etl
    get(client, path.format("example"))
    get(client, path.format("finance_report"), 404)


# -- the run's note ----------------------------------------------------------------------------


def test_a_user_edits_the_note_and_it_shows_on_the_run_and_in_the_runs_list(
    app: Flask, client: FlaskClient
) -> None:
    csrf = ui_sign_in(client, "User")
    assert 'action="/dags/example/run-note/manual__1"' in get(client, RUN_PAGE)
    reply = client.post(NOTE, data={"note": "rerun after <the> fix\r\nby Ada", "csrf_token": csrf})
    assert reply.status_code == 302
    assert "rerun after &lt;the&gt; fix\nby Ada</p>" in get(client, RUN_PAGE)
    assert "rerun after &lt;the&gt; fix" in get(client, "/dags/example/runs")
    with app_session(app) as session:
        assert get_run(session=session, dag_id="example", run_id="manual__1").note == (
            "rerun after <the> fix\nby Ada"
        )
        entry = session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert entry is not None
        assert (entry.action, entry.target, entry.outcome) == ("ui.run_note", NOTE, "success")
        assert entry.username == "user"
    client.post(NOTE, data={"note": "  ", "csrf_token": csrf})
    with app_session(app) as session:
        assert get_run(session=session, dag_id="example", run_id="manual__1").note is None


def test_a_note_without_its_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "User")
    reply = client.post(NOTE, data={"note": "forged"})
    assert reply.status_code == 400
    assert "CSRF token" in reply.get_data(as_text=True)
    with app_session(app) as session:
        assert get_run(session=session, dag_id="example", run_id="manual__1").note is None
        entry = session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert entry is not None
        assert (entry.action, entry.outcome) == ("ui.run_note", "refused")


def test_a_viewer_may_read_the_note_but_not_edit_it(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "Viewer")
    assert "run-note/manual__1" not in get(client, RUN_PAGE)
    assert client.post(NOTE, data={"note": "mine", "csrf_token": csrf}).status_code == 403


def test_a_note_too_long_is_refused_by_name(client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "User")
    reply = client.post(NOTE, data={"note": "x" * 1001, "csrf_token": csrf})
    assert reply.status_code == 422
    assert "note: longer than 1000 characters" in reply.get_data(as_text=True)


def test_the_run_page_shows_the_version_the_run_used(client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    page = get(client, RUN_PAGE)
    assert re.search(r'class="run-dag-version"><a href="/dags/example/code\?version=1"', page)
