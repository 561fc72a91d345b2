"""The run page and the task instance page: states, tries, Gantt, logs, XCom, actions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from engine.models import DagRun, TaskAttempt, TaskInstance
from engine.security.roles import create_role
from engine.security.users import create_user
from engine.services.runs import get_run, trigger_dag
from engine.services.taskinstances import get_task_instance
from engine.state import DagRunState, TaskInstanceState
from engine.timeutil import utcnow
from tests.webui.ui import ui_sign_in
from tests.webui.world import PASSWORD, T0, app_session
from webui.ui.present import when

TI = TaskInstanceState
RUN_PAGE = "/dags/example/runs/manual__1"
EXTRACT_PAGE = f"{RUN_PAGE}/tasks/extract"
SCHEDULED_ID = "scheduled__2026-01-05T00:00:00+00:00"
ODD_ID = "team/a:b+c"


def run_of(app: Flask, run_id: str = "manual__1") -> DagRun:
    with app_session(app) as session:
        run = get_run(session=session, dag_id="example", run_id=run_id)
        session.expunge(run)
        return run


def ti_of(app: Flask, task_id: str, run_id: str = "manual__1") -> TaskInstance:
    with app_session(app) as session:
        ti = get_task_instance(session=session, dag_id="example", run_id=run_id, task_id=task_id)
        session.expunge(ti)
        return ti


def html(client: FlaskClient, url: str, status: int = 200) -> str:
    reply = client.get(url)
    assert reply.status_code == status, reply.get_data(as_text=True)
    return reply.get_data(as_text=True)


def started_run(app: Flask, start: datetime) -> None:
    """manual__1 running since ``start``: extract failed after 30 s at +10 s, load waits."""
    with app_session(app) as session:
        run = get_run(session=session, dag_id="example", run_id="manual__1")
        run.state, run.start_date = DagRunState.RUNNING, start
        extract = get_task_instance(
            session=session, dag_id="example", run_id="manual__1", task_id="extract"
        )
        extract.start_date = start + timedelta(seconds=10)
        extract.end_date = start + timedelta(seconds=40)
        extract.duration = 30.0


def second_try(app: Flask, *, state: str = "success", log: str = "second try\nall good\n") -> None:
    """extract's try 2, which rendered its command (try 1 of the world rendered nothing)."""
    with app_session(app) as session:
        ti = get_task_instance(
            session=session, dag_id="example", run_id="manual__1", task_id="extract"
        )
        ti.try_number, ti.max_tries = 2, 2
        # Straight to the state wanted, past the transition checks of the model.
        session.execute(sa.update(TaskInstance).where(TaskInstance.id == ti.id).values(state=state))
        session.add(
            TaskAttempt(
                task_instance=ti,
                try_number=2,
                state=state,
                hostname="worker-7",
                start_date=T0,
                end_date=None if state == "running" else T0 + timedelta(seconds=5),
                error_type=None,
                log=log,
                rendered={"bash_command": "echo extracting 2"},
            )
        )
    with app_session(app) as session:
        first = session.query(TaskAttempt).filter_by(try_number=1).one()
        first.error_type, first.error_message = "RuntimeError", "the source was down"


# -- the run page -----------------------------------------------------------------------------


def test_run_page_shows_the_run_its_task_states_tries_and_gantt_bars(
    app: Flask, client: FlaskClient
) -> None:
    started_run(app, utcnow() - timedelta(seconds=60))
    ui_sign_in(client, "Viewer")
    page = html(client, RUN_PAGE)
    assert re.search(r'class="run-state"><span class="state state-running">.*running', page)
    assert "&#34;n&#34;: 2" in page  # the conf
    assert f'<a href="{EXTRACT_PAGE}">extract</a>' in page
    extract_row = page.split('data-task="extract"')[1].split("</tr>")[0]
    assert "state-failed" in extract_row
    assert "1 / 1" in extract_row
    assert "30s" in extract_row
    # The run started a minute ago and still runs: its timeline runs to now, so
    # extract's bar starts at 10 s of 60 and runs 30 s of them.
    bar = re.search(r'<span class="state-failed" style="left: ([\d.]+)%; width: ([\d.]+)%"', page)
    assert bar is not None
    left, width = float(bar.group(1)), float(bar.group(2))
    assert 15 < left <= 16.7
    assert 45 < width <= 50
    assert 'aria-label="extract: failed, started at +10s, ran 30s"' in page
    load_row = page.split('data-task="load"')[1].split("</tr>")[0]
    assert "not started" in load_row
    assert "0 / 1" in load_row


def test_gantt_bars_of_a_finished_run_fill_its_timeline(app: Flask, client: FlaskClient) -> None:
    started_run(app, T0)
    with app_session(app) as session:
        run = get_run(session=session, dag_id="example", run_id="manual__1")
        run.state, run.end_date = DagRunState.FAILED, T0 + timedelta(seconds=40)
    ui_sign_in(client, "Viewer")
    page = html(client, RUN_PAGE)
    assert 'style="left: 25.00%; width: 75.00%"' in page


def test_the_live_part_refreshes_until_the_run_has_finished(
    app: Flask, client: FlaskClient
) -> None:
    ui_sign_in(client, "Viewer")
    live = "/dags/example/run-live/manual__1"
    assert f'data-live="{live}"' in html(client, RUN_PAGE)
    fragment = html(client, live).strip()
    assert fragment.startswith(f'<section id="run-live" class="run-live" data-live="{live}"')
    assert "<html" not in fragment
    assert 'class="run-state"' in fragment
    with app_session(app) as session:
        get_run(session=session, dag_id="example", run_id="manual__1").state = DagRunState.RUNNING
    with app_session(app) as session:
        get_run(session=session, dag_id="example", run_id="manual__1").state = DagRunState.SUCCESS
    fragment = html(client, live)
    assert "data-live" not in fragment
    assert re.search(r'class="run-state"><span class="state state-success">', fragment)
    assert "data-live" not in html(client, RUN_PAGE)


# -- the task instance page -------------------------------------------------------------------


def test_task_instance_page_shows_facts_attempts_log_xcom_and_command(
    app: Flask, client: FlaskClient
) -> None:
    second_try(app)
    ui_sign_in(client, "Viewer")
    page = html(client, EXTRACT_PAGE)
    assert re.search(r'class="ti-state"><span class="state state-success">', page)
    assert "2 of 2" in page
    assert "BashOperator" in page
    assert "default_pool" in page
    attempts = page.split('<table class="attempts">')[1].split("</table>")[0]
    assert attempts.count("<tr>") == 3  # the heading and both tries
    assert "<code>RuntimeError</code>: the source was down" in attempts
    assert "worker-7" in attempts
    assert "5s" in attempts
    # The latest try by default: its log and the command it rendered.
    assert '<pre class="log">second try\nall good\n</pre>' in page
    assert '<pre class="field">echo extracting 2</pre>' in page
    assert "As try 2 rendered" in page
    assert f'href="{EXTRACT_PAGE}?try=1"' in page  # a tab per try
    assert "&#34;count&#34;: 3" in page  # XCom rows
    assert "data-live" not in page
    assert "data-log" not in page


def test_a_sensor_waiting_for_its_next_poke_shows_the_state_and_when(
    app: Flask, client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    next_poke = T0 + timedelta(minutes=5)
    with app_session(app) as session:
        ti = get_task_instance(
            session=session, dag_id="example", run_id="manual__1", task_id="extract"
        )
        session.execute(
            sa.update(TaskInstance)
            .where(TaskInstance.id == ti.id)
            .values(state=TI.UP_FOR_RESCHEDULE, next_poke_at=next_poke, first_poke_at=T0,
                    poke_count=2)
        )  # fmt: skip
    reply = client.get(
        "/api/v2/dags/example/dagRuns/manual__1/taskInstances/extract",
        headers=as_role("Viewer"),
    ).get_json()
    assert reply["state"] == "up_for_reschedule"  # Airflow's API has no poke times: the page
    ui_sign_in(client, "Viewer")
    page = html(client, EXTRACT_PAGE)
    assert re.search(r'class="ti-state"><span class="state state-up_for_reschedule">', page)
    assert "up for reschedule" in page
    assert f'<dt>Next poke</dt><dd class="ti-next-poke">{when(next_poke)}</dd>' in page
    assert f"<dt>First poke</dt><dd>{when(T0)} (2 pokes so far)</dd>" in page
    assert "data-live" in page  # unfinished: the page keeps refreshing


def test_an_earlier_try_shows_its_own_log_and_the_written_command(
    app: Flask, client: FlaskClient
) -> None:
    second_try(app)
    ui_sign_in(client, "Viewer")
    page = html(client, f"{EXTRACT_PAGE}?try=1")
    assert '<pre class="log">extracting 2\nfailed\n</pre>' in page
    assert "second try" not in page
    # Try 1 rendered nothing: the template as the DAG file writes it.
    assert "echo extracting {{ params.n }}" in page
    assert "As the DAG file writes them" in page
    assert re.search(r'href="[^"]*\?try=1" aria-current="page"', page)


def test_an_unknown_or_malformed_try_is_a_clear_error(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    assert "has no try 7" in html(client, f"{EXTRACT_PAGE}?try=7", 404)
    assert "try: must be a try number" in html(client, f"{EXTRACT_PAGE}?try=zero", 400)


def test_a_running_try_is_followed_through_the_json_log_endpoint(
    app: Flask, client: FlaskClient
) -> None:
    second_try(app, state="running", log="line one\nline two\n")
    ui_sign_in(client, "Viewer")
    page = html(client, EXTRACT_PAGE)
    chunk_url = "/dags/example/task-try-log/extract/2/manual__1"
    assert f'data-log="{chunk_url}" data-offset="18"' in page
    assert 'id="ti-live" class="ti-live" data-live="/dags/example/task-live/extract/manual__1"' in (
        page
    )
    reply = client.get(f"{chunk_url}?offset=9")
    assert reply.status_code == 200
    assert reply.get_json() == {
        "try_number": 2,
        "state": "running",
        "content": "line two\n",
        "offset": 9,
        "next_offset": 18,
        "truncated": False,
        "complete": False,
        "note": None,
    }
    # The same chunk by query arguments; a finished try is complete.
    earlier = client.get("/dags/example/task-log/extract/manual__1?try=1&offset=0").get_json()
    assert earlier["content"] == "extracting 2\nfailed\n"
    assert earlier["complete"] is True
    latest = client.get("/dags/example/task-log/extract/manual__1").get_json()
    assert latest["try_number"] == 2


def test_the_json_log_endpoint_refuses_bad_input_with_json(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    base = "/dags/example/task-log/extract/manual__1"
    for query, status, words in [
        ("?offset=-3", 400, "offset: must be a whole number"),
        ("?offset=abc", 400, "offset: must be a whole number"),
        ("?try=x", 400, "try: must be a whole number"),
        ("?try=5", 404, "has no try 5"),
    ]:
        reply = client.get(base + query)
        assert reply.status_code == status
        assert words in reply.get_json()["message"]
    reply = client.get("/dags/example/task-log/nope/manual__1")
    assert reply.status_code == 404
    assert "has no task 'nope'" in reply.get_json()["message"]


def test_a_page_opened_before_any_try_waits_for_the_log(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    live = "/dags/example/task-log-live/load/manual__1"
    page = html(client, f"{RUN_PAGE}/tasks/load")
    assert f'<div class="log-wait" data-live="{live}">' in page
    assert "No try has started yet" in page
    assert '<pre class="log"' not in page
    with app_session(app) as session:
        ti = get_task_instance(
            session=session, dag_id="example", run_id="manual__1", task_id="load"
        )
        ti.try_number = 1
        session.add(TaskAttempt(task_instance=ti, try_number=1, state="running", log="half"))
    fragment = html(client, live).strip()
    assert fragment.startswith(f'<div class="log-wait" data-live="{live}">')
    assert '<pre class="log">half</pre>' in fragment
    with app_session(app) as session:
        attempt = session.query(TaskAttempt).filter_by(try_number=1, log="half").one()
        attempt.state, attempt.log = "success", "half and the rest\n"
    fragment = html(client, live)
    assert "data-live" not in fragment
    assert '<pre class="log">half and the rest\n</pre>' in fragment


def test_logs_and_xcom_are_hidden_and_refused_without_their_permissions(
    app: Flask, client: FlaskClient
) -> None:
    with app_session(app) as session:
        reads = [("read", r) for r in ("dags", "dag_runs", "task_instances")]
        create_role(session=session, name="NoLogs", permissions=reads)
        create_user(session=session, username="nologs", password=PASSWORD, role_names=["NoLogs"])
    ui_sign_in(client, "nologs")
    page = html(client, EXTRACT_PAGE)
    assert "extracting 2" not in page
    assert 'class="log' not in page
    assert "XCom" not in page
    assert "count" not in page
    assert "echo extracting" in page  # the command is part of the task instance
    assert client.get("/dags/example/task-log/extract/manual__1").status_code == 403
    assert client.get("/dags/example/task-log-live/extract/manual__1").status_code == 403


# -- actions ----------------------------------------------------------------------------------

Post = Callable[..., Any]


@pytest.fixture
def post(client: FlaskClient) -> Post:
    """``post(url, role, **form)``: the reply to a form sent as ``role``'s user, with CSRF."""
    signed_in: dict[str, str] = {}

    def send(url: str, role: str = "User", **form: str) -> Any:
        if role not in signed_in:
            signed_in.clear()
            signed_in[role] = ui_sign_in(client, role)
        return client.post(url, data={"csrf_token": signed_in[role], **form})

    return send


def followed(client: FlaskClient, reply: Any) -> str:
    """The page a redirect leads to (with its flashed message)."""
    assert reply.status_code == 302, reply.get_data(as_text=True)
    return html(client, reply.headers["Location"])


@pytest.mark.parametrize("state", ["success", "failed"])
def test_mark_the_run(app: Flask, client: FlaskClient, post: Post, state: str) -> None:
    reply = post("/dags/example/run-mark/manual__1", state=state)
    assert reply.headers["Location"] == RUN_PAGE
    assert f"run manual__1 marked {state}" in followed(client, reply)
    assert run_of(app).state == state


def test_clear_failed_tasks_gives_them_fresh_tries(
    app: Flask, client: FlaskClient, post: Post
) -> None:
    with app_session(app) as session:
        run = get_run(session=session, dag_id="example", run_id="manual__1")
        run.state = DagRunState.RUNNING
    with app_session(app) as session:
        run = get_run(session=session, dag_id="example", run_id="manual__1")
        run.state = DagRunState.FAILED
    reply = post("/dags/example/run-clear/manual__1", only_failed="true")
    assert "cleared 1 task(s) to run again: extract" in followed(client, reply)
    extract = ti_of(app, "extract")
    assert (extract.state, extract.try_number, extract.max_tries) == (TI.NONE, 1, 2)
    assert run_of(app).state == DagRunState.QUEUED


def test_clear_failed_tasks_of_a_run_without_any_changes_nothing(
    app: Flask, client: FlaskClient, post: Post
) -> None:
    with app_session(app) as session:
        trigger_dag(session=session, dag_id="example", run_id="calm", now=T0)
    reply = post("/dags/example/run-clear/calm")
    assert "no failed tasks: nothing was cleared" in followed(client, reply)


def test_clear_all_tasks_of_the_run(app: Flask, client: FlaskClient, post: Post) -> None:
    with app_session(app) as session:
        load = get_task_instance(
            session=session, dag_id="example", run_id="manual__1", task_id="load"
        )
        load.state = TI.SKIPPED
    reply = post("/dags/example/run-clear/manual__1", only_failed="false")
    assert "cleared 2 task(s) to run again: extract, load" in followed(client, reply)
    assert ti_of(app, "load").state == TI.NONE
    assert ti_of(app, "extract").state == TI.NONE


@pytest.mark.parametrize(("downstream", "load_after"), [("true", TI.NONE), ("false", TI.SKIPPED)])
def test_clear_a_task_with_or_without_downstream(
    app: Flask, client: FlaskClient, post: Post, downstream: str, load_after: TI
) -> None:
    with app_session(app) as session:
        load = get_task_instance(
            session=session, dag_id="example", run_id="manual__1", task_id="load"
        )
        load.state = TI.SKIPPED
    reply = post("/dags/example/task-clear/extract/manual__1", downstream=downstream)
    assert reply.headers["Location"] == EXTRACT_PAGE
    assert "to run again: extract" in followed(client, reply)
    assert ti_of(app, "extract").state == TI.NONE
    assert ti_of(app, "extract").max_tries == 2  # a fresh try after the one it had
    assert ti_of(app, "load").state == load_after


@pytest.mark.parametrize("state", ["success", "failed"])
def test_mark_a_task(app: Flask, client: FlaskClient, post: Post, state: str) -> None:
    reply = post("/dags/example/task-mark/load/manual__1", state=state)
    assert reply.headers["Location"] == f"{RUN_PAGE}/tasks/load"
    assert f"task load marked {state}" in followed(client, reply)
    assert ti_of(app, "load").state == state


ACTIONS = [
    ("/dags/example/run-mark/manual__1", {"state": "success"}),
    ("/dags/example/run-clear/manual__1", {"only_failed": "true"}),
    ("/dags/example/run-clear/manual__1", {"only_failed": "false"}),
    ("/dags/example/task-clear/extract/manual__1", {"downstream": "true"}),
    ("/dags/example/task-mark/load/manual__1", {"state": "failed"}),
]


def states(app: Flask) -> tuple[str, str, str]:
    return (run_of(app).state, ti_of(app, "extract").state, ti_of(app, "load").state)


def test_viewers_see_no_actions_and_their_forged_forms_are_refused(
    app: Flask, client: FlaskClient
) -> None:
    token = ui_sign_in(client, "Viewer")
    for url in (RUN_PAGE, EXTRACT_PAGE):
        main = html(client, url).split("<main")[1]
        assert "Mark success" not in main
        assert "Clear" not in main
        assert "<form" not in main
    before = states(app)
    for url, form in ACTIONS:
        reply = client.post(url, data={"csrf_token": token, **form})
        assert reply.status_code == 403, url
        assert "your roles do not allow edit" in reply.get_data(as_text=True)
    assert states(app) == before


def test_users_see_the_actions_each_with_a_confirmation(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "User")
    for url, labels in [
        (RUN_PAGE, ["Clear failed tasks", "Clear all tasks", "Mark success", "Mark failed"]),
        (EXTRACT_PAGE, ["Clear with downstream", "Clear only this task", "Mark success"]),
    ]:
        page = html(client, url)
        for label in labels:
            form = re.search(
                rf'<form[^>]*data-confirm="[^"]+">(?:(?!</form>).)*>{label}<', page, re.S
            )
            assert form is not None, (url, label)


def test_actions_without_the_csrf_token_are_refused(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    before = states(app)
    for url, form in ACTIONS:
        reply = client.post(url, data=form)
        assert reply.status_code == 400, url
        assert "CSRF token" in reply.get_data(as_text=True)
    assert states(app) == before


def test_a_forged_state_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, post: Post
) -> None:
    before = states(app)
    for url in ("/dags/example/run-mark/manual__1", "/dags/example/task-mark/load/manual__1"):
        reply = post(url, "Admin", state="running")
        assert reply.status_code == 400
        assert "state: must be success or failed" in reply.get_data(as_text=True)
    assert states(app) == before


# -- unknown objects and awkward run ids ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/dags/example/runs/nope", "has no run 'nope'"),
        ("/dags/nope/runs/manual__1", "no DAG 'nope'"),
        ("/dags/example/run-live/nope", "has no run 'nope'"),
        (f"{RUN_PAGE}/tasks/nope", "has no task 'nope'"),
        ("/dags/example/runs/nope/tasks/extract", "has no run 'nope'"),
        ("/dags/example/task-live/nope/manual__1", "has no task 'nope'"),
    ],
)
def test_unknown_runs_and_tasks_give_a_404_page(client: FlaskClient, url: str, words: str) -> None:
    ui_sign_in(client, "Viewer")
    page = html(client, url, 404)
    assert "404 — Not found" in page
    assert escape(words) in page


def test_actions_on_unknown_runs_and_tasks_are_404(
    app: Flask, client: FlaskClient, post: Post
) -> None:
    for url, form in [
        ("/dags/example/run-mark/nope", {"state": "success"}),
        ("/dags/example/run-clear/nope", {"only_failed": "false"}),
        ("/dags/example/task-clear/nope/manual__1", {}),
        ("/dags/example/task-mark/nope/manual__1", {"state": "success"}),
    ]:
        assert post(url, **form).status_code == 404, url


def test_dags_outside_a_roles_tags_are_not_found(client: FlaskClient) -> None:
    ui_sign_in(client, "etl")  # EtlViewer: DAGs tagged etl only
    assert html(client, RUN_PAGE)
    assert escape("no DAG 'finance_report'") in html(
        client, "/dags/finance_report/runs/manual__1", 404
    )
    html(client, "/dags/finance_report/runs/manual__1/tasks/report", 404)


@pytest.mark.parametrize("run_id", [SCHEDULED_ID, ODD_ID])
def test_run_ids_with_slashes_colons_and_pluses_work(
    app: Flask, client: FlaskClient, post: Post, run_id: str
) -> None:
    with app_session(app) as session:
        run = trigger_dag(session=session, dag_id="example", run_id="renamed", now=T0)
        # Ids no edge accepts today (a slash), as a run of an older version may carry.
        rows: list[DagRun | TaskInstance] = [run, *run.task_instances]
        for row in rows:
            row.run_id = run_id
    post("/dags/example/run-mark/manual__1", "Admin", state="success")  # signs in
    run_page = html(client, f"/dags/example/runs/{run_id}")
    assert f"<code>{run_id}</code>" in run_page
    [ti_href] = re.findall(r'<a href="([^"]+)">extract</a>', run_page)
    assert ti_href.endswith("/tasks/extract")
    ti_page = html(client, ti_href)
    assert "echo extracting" in ti_page
    assert html(client, f"/dags/example/run-live/{run_id}").strip().startswith("<section")
    chunk = client.get(f"/dags/example/task-log/extract/{run_id}")
    assert chunk.status_code == 404
    assert "no log yet" in chunk.get_json()["message"]
    reply = post(f"/dags/example/run-mark/{run_id}", "Admin", state="failed")
    assert reply.status_code == 302
    assert run_of(app, run_id).state == DagRunState.FAILED
    reply = post(f"/dags/example/task-mark/load/{run_id}", "Admin", state="success")
    assert reply.status_code == 302
    assert ti_of(app, "load", run_id).state == TI.SUCCESS
    assert run_of(app).state == DagRunState.SUCCESS  # manual__1 itself was left as marked


def test_the_task_page_shows_the_display_name_and_the_docs_escaped(client: FlaskClient) -> None:
    ui_sign_in(client, "Viewer")
    page = html(client, f"{RUN_PAGE}/tasks/load")
    assert '<h1>Task Load rows <code class="muted">load</code></h1>' in page
    # doc_md is rendered as Markdown, its raw HTML escaped.
    assert (
        '<div class="task-doc markdown" role="region" aria-label="Markdown">'
        "<p>Loads &lt;b&gt;rows&lt;/b&gt;.</p>" in page
    )
    assert "Documentation" not in html(client, EXTRACT_PAGE)
