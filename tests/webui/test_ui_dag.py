"""A DAG's pages: grid, graph, code, run history and the trigger form; the grid's data and
the graph's layout."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from itertools import combinations

import networkx as nx
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import Dag, DagRun, DagWarning, TaskInstance
from engine.scheduling.dagruns import start_queued_runs
from engine.services.runs import trigger_dag
from engine.state import DagRunState, TaskInstanceState
from tests.webui.admin import text_of
from tests.webui.ui import page_as, ui_sign_in
from tests.webui.world import T0
from webui import db
from webui.ui.viewmodels.graph_layout import NodeBox, crossings, layered_layout
from webui.ui.viewmodels.grid import dag_grid

# -- helpers ---------------------------------------------------------------------------------


def runs_of(app: Flask, dag_id: str) -> dict[str, DagRun]:
    with app.app_context():
        session = db.session()
        runs = session.scalars(sa.select(DagRun).where(DagRun.dag_id == dag_id))
        return {run.run_id: run for run in runs}


def field_error(page: str, field: str) -> str:
    """The text of the problem shown next to ``field``."""
    match = re.search(rf'<p class="field-error" id="{field}-error"[^>]*>(.*?)</p>', page, re.S)
    assert match is not None, f"no .field-error next to {field}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def textarea(page: str) -> str:
    conf = re.search(r'<textarea id="conf"[^>]*>(.*?)</textarea>', page, re.S)
    assert conf is not None
    return html.unescape(conf.group(1))


def add_runs(app: Flask, dag_id: str, count: int) -> None:
    with app.app_context():
        session = db.session()
        for number in range(count):
            when = T0.replace(day=10 + number)
            trigger_dag(
                session=session,
                dag_id=dag_id,
                run_id=f"later__{number}",
                logical_date=when,
                now=when,
            )
        db.commit()


def set_dag(app: Flask, dag_id: str, **values: object) -> None:
    with app.app_context():
        dag = db.session().get_one(Dag, dag_id)
        for name, value in values.items():
            setattr(dag, name, value)
        db.commit()


# -- warnings --------------------------------------------------------------------------------


def test_dag_warnings_show_in_a_banner_within_the_users_scope(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        for dag_id in ("example", "finance_report"):
            message = f"task 'x': bash_command interpolates {{{{ params.a }}}} in {dag_id}"
            db.session().add(DagWarning(dag_id=dag_id, warning_type="unquoted", message=message))
        db.commit()
    page = page_as(client, "Admin", "/dags")
    assert "2 DAGs with warnings:" in page
    assert "bash_command interpolates {{ params.a }} in finance_report" in page
    scoped = client.application.test_client()
    ui_sign_in(scoped, "etl")  # EtlViewer: DAGs tagged etl only
    page = text_of(scoped.get("/dags"))
    assert "1 DAG with warnings:" in page
    assert "in example" in page
    assert "finance_report" not in page


# -- grid ------------------------------------------------------------------------------------


def grid_states(client: FlaskClient, path: str = "/dags/example/grid/data") -> dict[str, str]:
    """The grid's cells as ``"task on run": state`` ("missing": not in that run)."""
    data = client.get(path).get_json()
    width = len(data["runs"])
    return {
        f"{task[0]} on {run[0]}": data["states"][data["cells"][row * width + col]]
        for row, task in enumerate(data["tasks"])
        for col, run in enumerate(data["runs"])
    }


def test_grid_page_frames_the_grid_of_tasks_by_runs(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/dags/example", status=200)
    assert re.search(r'<a href="/dags/example"\s+aria-current="page">Grid</a>', page)
    assert 'aria-label="Trigger example"' in page
    assert 'data-grid="/dags/example/grid/data?runs=25"' in page
    # schedule=None reads once, in words: not "Never, external triggers only None"
    words = '<span class="schedule-words">Never, external triggers only</span></dd>'
    assert words in page
    data = client.get("/dags/example/grid/data").get_json()
    assert [task[0] for task in data["tasks"]] == ["extract", "load"]  # upstream first
    assert data["runs"][0][5] == "/dags/example/runs/manual__1"  # the column's link
    assert grid_states(client) == {"extract on manual__1": "failed", "load on manual__1": "none"}


def test_grid_data_keeps_odd_run_ids_and_marks_missing_tasks(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        session = db.session()
        run = trigger_dag(session=session, dag_id="example", run_id="odd", now=T0)
        session.delete(next(ti for ti in run.task_instances if ti.task_id == "load"))
        # An id no edge accepts today, as a run of an older version may carry.
        for row in (run, *run.task_instances):
            row.run_id = 'odd&"id'
        db.commit()
    ui_sign_in(client, "Admin")
    data = client.get("/dags/example/grid/data").get_json()
    assert data["runs"][1][0] == 'odd&"id'
    assert data["runs"][1][5] == "/dags/example/runs/odd&%22id"
    states = grid_states(client)
    assert states['extract on odd&"id'] == "none"
    assert states['load on odd&"id'] == "missing"


def test_grid_shows_the_latest_runs_asked_for(app: Flask, client: FlaskClient) -> None:
    add_runs(app, "example", 3)
    page = page_as(client, "Admin", "/dags/example?runs=2")
    assert 'data-grid="/dags/example/grid/data?runs=2"' in page
    assert list(grid_states(client, "/dags/example/grid/data?runs=2")) == [
        "extract on later__1",
        "extract on later__2",
        "load on later__1",
        "load on later__2",
    ]
    default = grid_states(client)
    assert default["extract on manual__1"] == "failed"
    assert list(default).index("extract on manual__1") == 0  # oldest left


def test_grid_data_in_topological_order_with_gaps(app: Flask) -> None:
    add_runs(app, "example", 2)
    with app.app_context():
        session = db.session()
        run = session.scalars(sa.select(DagRun).where(DagRun.run_id == "later__1")).one()
        load = next(ti for ti in run.task_instances if ti.task_id == "load")
        session.delete(load)  # as if "load" had been added to the DAG after this run
        session.add(
            TaskInstance(
                dag_run_id=run.id,
                dag_id="example",
                run_id="later__1",
                task_id="gone",
                state=TaskInstanceState.REMOVED,
            )
        )
        session.flush()
        grid = dag_grid(session=session, dag_id="example", runs=2)
    assert [r.run_id for r in grid.runs] == ["later__0", "later__1"]
    assert [row.task_id for row in grid.rows] == ["extract", "load", "gone"]
    states = {row.task_id: row.states for row in grid.rows}
    assert states["load"] == (TaskInstanceState.NONE, None)
    assert states["gone"] == (None, TaskInstanceState.REMOVED)


# -- graph -----------------------------------------------------------------------------------


def test_graph_draws_nodes_coloured_by_the_latest_run(client: FlaskClient) -> None:
    page = page_as(client, "Admin", "/dags/example/graph", status=200)
    assert re.search(r'<svg class="graph" role="img" aria-label="Graph of example: 2 tasks', page)
    assert 'class="node state-failed" data-task="extract"' in page
    assert 'class="node state-none" data-task="load"' in page
    title = re.search(r'data-task="extract".*?<title>(.*?)</title>', page, re.S)
    assert title is not None
    for fact in ("BashOperator", "trigger rule: all_success", "priority weight: 1", "failed"):
        assert fact in title.group(1)
    assert 'data-edge="extract-load"' in page
    assert 'href="/dags/example/runs/manual__1/tasks/extract"' in page
    assert '<option value="manual__1" selected>' in page


def test_graph_run_selector_and_unknown_run(app: Flask, client: FlaskClient) -> None:
    add_runs(app, "example", 1)
    latest = page_as(client, "Admin", "/dags/example/graph")
    assert 'class="node state-none" data-task="extract"' in latest  # later__0, not started
    chosen = text_of(client.get("/dags/example/graph?run_id=manual__1"))
    assert 'class="node state-failed" data-task="extract"' in chosen
    missing = client.get("/dags/example/graph?run_id=nope")
    assert missing.status_code == 404
    assert "has no run &#39;nope&#39;" in text_of(missing)


def test_graph_fragment_refreshes_while_the_run_is_unfinished(client: FlaskClient) -> None:
    fragment = page_as(client, "Admin", "/dags/example/graph", headers={"X-Loom-Fragment": "1"})
    assert fragment.lstrip().startswith('<figure class="graph-figure" data-live=')
    assert "<nav" not in fragment


def test_graph_without_runs_shows_the_tasks_only(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        db.session().execute(sa.delete(DagRun).where(DagRun.dag_id == "finance_report"))
        db.commit()
    page = page_as(client, "Admin", "/dags/finance_report/graph")
    assert "No run to colour the graph by" in page
    assert 'class="node state-none" data-task="report"' in page
    assert "/tasks/report" not in page


# -- code ------------------------------------------------------------------------------------


def test_code_shows_the_highlighted_source(client: FlaskClient) -> None:
    page = page_as(client, "Viewer", "/dags/example/code", status=200)
    assert '<div class="highlight">' in page
    assert ">bash_command<" in page
    assert "example_dags.py" in page
    assert 'aria-current="page">Code</a>' in page


def test_code_of_a_missing_file_says_so(app: Flask, client: FlaskClient) -> None:
    set_dag(app, "example", fileloc="/nowhere/gone.py")
    page = page_as(client, "Viewer", "/dags/example/code", status=404)
    assert "/nowhere/gone.py) is not readable" in page


# -- run history -----------------------------------------------------------------------------


def test_runs_page_lists_runs_with_durations_and_filters(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        run = db.session().scalars(sa.select(DagRun).where(DagRun.dag_id == "example")).one()
        run.start_date = T0
        run.state = DagRunState.RUNNING
        run.state = DagRunState.FAILED
        run.end_date = T0.replace(minute=2, second=5)
        db.commit()
    add_runs(app, "example", 1)
    page = page_as(client, "Viewer", "/dags/example/runs")
    assert 'data-run="manual__1"' in page
    assert "2m 5s" in page
    assert 'data-run="later__0"' in page
    failed = text_of(client.get("/dags/example/runs?state=failed"))
    assert 'data-run="manual__1"' in failed
    assert 'data-run="later__0"' not in failed
    assert client.get("/dags/example/runs?state=bogus").status_code == 400


# -- trigger ---------------------------------------------------------------------------------


def test_trigger_form_is_prefilled_from_params(client: FlaskClient) -> None:
    page = page_as(client, "User", "/dags/example/trigger")
    assert "<h1>Trigger example</h1>" in page
    assert '<label for="conf">Conf (raw JSON)</label>' in page
    assert textarea(page) == '{\n  "n": 1,\n  "region": "eu"\n}'
    assert '<button type="submit">Trigger</button>' in page


def test_trigger_creates_a_run_with_the_conf(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "User")
    reply = client.post(
        "/dags/example/trigger",
        data={"csrf_token": csrf, "conf": '{"n": 5}', "run_id": "by_hand", "logical_date": ""},
    )
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/dags/example/runs/by_hand"
    run = runs_of(app, "example")["by_hand"]
    assert run.conf == {"n": 5}
    assert run.triggered_by == "user"
    # No "queued" note: the run page it lands on shows the run's state, refreshed live.
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert 'class="flash' not in page
    assert '<dd class="run-state"><span class="state state-queued">' in page
    assert 'data-live="/dags/example/run-live/by_hand"' in page


def test_trigger_with_a_logical_date_and_default_run_id(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "User")
    reply = client.post(
        "/dags/example/trigger",
        data={"csrf_token": csrf, "conf": "", "logical_date": "2026-02-01T06:00:00"},
    )
    assert reply.status_code == 302
    [new] = [r for r in runs_of(app, "example") if r != "manual__1"]
    assert new == "manual__2026-02-01T06:00:00+00:00"
    assert reply.headers["Location"].startswith("/dags/example/runs/manual__2026-02-01T06")


@pytest.mark.parametrize(
    ("form", "field", "problem"),
    [
        ({"conf": '{"n": 5'}, "conf", "conf is not valid JSON"),
        ({"conf": '{"n": "five"}'}, "param.n", "must be of type integer, got str"),
        ({"conf": "[1, 2]"}, "conf", "conf must be a JSON object"),
        ({"conf": "{}", "run_id": "has space"}, "run_id", "run id: letters, digits"),
        ({"conf": "{}", "logical_date": "next tuesday"}, "logical_date", "not an ISO 8601"),
    ],
)
def test_trigger_refuses_bad_input_next_to_the_field(
    app: Flask, client: FlaskClient, form: dict[str, str], field: str, problem: str
) -> None:
    csrf = ui_sign_in(client, "User")
    reply = client.post("/dags/example/trigger", data={"csrf_token": csrf, **form})
    assert reply.status_code == 400
    page = text_of(reply)
    assert problem in field_error(page, field)
    assert f'aria-describedby="{field}-error"' in page or "conf-help conf-error" in page
    assert textarea(page) == form["conf"]  # the form comes back as typed
    assert list(runs_of(app, "example")) == ["manual__1"]


def test_trigger_lists_every_broken_param_next_to_it(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "User")
    conf = '{"n": "five", "region": 7}'
    reply = client.post("/dags/example/trigger", data={"csrf_token": csrf, "conf": conf})
    assert reply.status_code == 400
    page = text_of(reply)
    assert field_error(page, "param.n") == "✗ must be of type integer, got str"
    assert field_error(page, "param.region") == "✗ must be of type string, got int"
    assert "does not fit the params n, region" in field_error(page, "conf")
    assert list(runs_of(app, "example")) == ["manual__1"]


def test_trigger_of_a_paused_dag_creates_a_run_that_waits_until_unpaused(
    app: Flask, client: FlaskClient
) -> None:
    """Airflow's behaviour: the run is created, queued, and the scheduler starts it only
    once the DAG is unpaused."""
    set_dag(app, "example", is_paused=True)
    csrf = ui_sign_in(client, "User")
    form = text_of(client.get("/dags/example/trigger"))
    assert "example is paused: the run is created now and waits, queued, until" in form
    reply = client.post(
        "/dags/example/trigger", data={"csrf_token": csrf, "conf": "{}", "run_id": "waiting"}
    )
    assert reply.status_code == 302
    assert "run waiting waits until example is unpaused" in text_of(client.get(reply.location))
    assert runs_of(app, "example")["waiting"].state is DagRunState.QUEUED
    later = datetime.now(UTC) + timedelta(minutes=1)
    with app.app_context():
        started = start_queued_runs(session=db.session(), now=later)
        assert [run for run in started if run.dag_id == "example"] == []
        db.commit()
    assert runs_of(app, "example")["waiting"].state is DagRunState.QUEUED
    set_dag(app, "example", is_paused=False)
    with app.app_context():
        started = start_queued_runs(session=db.session(), now=later)
        assert "waiting" in {run.run_id for run in started}
        db.commit()
    assert runs_of(app, "example")["waiting"].state is DagRunState.RUNNING


def test_trigger_with_a_taken_run_id_is_refused(app: Flask, client: FlaskClient) -> None:
    csrf = ui_sign_in(client, "User")
    reply = client.post(
        "/dags/example/trigger", data={"csrf_token": csrf, "conf": "{}", "run_id": "manual__1"}
    )
    assert reply.status_code == 409
    assert "already has a run 'manual__1'" in field_error(text_of(reply), "run_id")
    assert runs_of(app, "example")["manual__1"].conf == {"n": 2}
    assert len(runs_of(app, "example")) == 1


def test_viewer_sees_no_trigger_and_a_forged_post_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    csrf = ui_sign_in(client, "Viewer")
    for path in ("/dags/example", "/dags/example/graph", "/dags/example/code"):
        page = text_of(client.get(path))
        assert "/dags/example/trigger" not in page
        assert 'role="switch"' not in page
    assert client.get("/dags/example/trigger").status_code == 403
    forged = client.post("/dags/example/trigger", data={"csrf_token": csrf, "conf": "{}"})
    assert forged.status_code == 403
    assert list(runs_of(app, "example")) == ["manual__1"]


def test_trigger_without_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    ui_sign_in(client, "Admin")
    reply = client.post("/dags/example/trigger", data={"conf": "{}"})
    assert reply.status_code == 400
    assert "CSRF token" in text_of(reply)
    assert list(runs_of(app, "example")) == ["manual__1"]


# -- what is not there, or not yours ---------------------------------------------------------

PAGES = ("", "/graph", "/code", "/runs", "/trigger")


@pytest.mark.parametrize("suffix", PAGES)
def test_unknown_dag_is_a_clear_404_page(client: FlaskClient, suffix: str) -> None:
    page = page_as(client, "Admin", f"/dags/nope{suffix}", status=404)
    assert "404 — Not found" in page
    assert "no DAG &#39;nope&#39;" in page


@pytest.mark.parametrize("suffix", PAGES[:4])
def test_dag_outside_the_users_scope_is_not_found(client: FlaskClient, suffix: str) -> None:
    ui_sign_in(client, "etl")
    assert client.get(f"/dags/example{suffix}").status_code == 200
    assert client.get(f"/dags/finance_report{suffix}").status_code == 404


def test_signed_out_dag_page_leads_to_login(client: FlaskClient) -> None:
    reply = client.get("/dags/example/graph")
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/login?next=/dags/example/graph")


@pytest.mark.postgres
def test_grid_graph_and_trigger_on_postgres(pg_app: Flask) -> None:
    client = pg_app.test_client()
    csrf = ui_sign_in(client, "Op")
    assert grid_states(client)["extract on manual__1"] == "failed"
    assert 'class="node state-failed" data-task="extract"' in text_of(
        client.get("/dags/example/graph")
    )
    reply = client.post(
        "/dags/example/trigger", data={"csrf_token": csrf, "conf": '{"n": 3}', "run_id": "pg"}
    )
    assert reply.status_code == 302
    assert runs_of(pg_app, "example")["pg"].conf == {"n": 3}
    again = client.post(
        "/dags/example/trigger", data={"csrf_token": csrf, "conf": "{}", "run_id": "pg"}
    )
    assert again.status_code == 409
    assert runs_of(pg_app, "example")["pg"].conf == {"n": 3}


# -- layout ----------------------------------------------------------------------------------


def overlap(a: NodeBox, b: NodeBox) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.y + b.height and b.y < a.y + a.height


def diamond_with_skips() -> tuple[dict[str, float], list[tuple[str, str]]]:
    widths = {name: 80.0 + 10 * len(name) for name in ("a", "b", "c", "dd", "e", "f", "long")}
    edges = [
        ("a", "b"),
        ("a", "c"),
        ("b", "dd"),
        ("c", "dd"),
        ("dd", "e"),
        ("a", "e"),
        ("c", "f"),
        ("long", "e"),
    ]
    return widths, edges


def test_layout_layers_point_every_edge_rightwards() -> None:
    widths, edges = diamond_with_skips()
    layout = layered_layout(widths, edges)
    for source, target in edges:
        assert layout.nodes[source].layer < layout.nodes[target].layer
        assert layout.nodes[source].right < layout.nodes[target].x
    assert layout.nodes["e"].layer == 3  # the longest path a -> b -> dd -> e
    assert {box.layer for box in layout.nodes.values() if box.node_id in ("a", "long")} == {0}


def test_layout_nodes_do_not_overlap_and_fit_the_drawing() -> None:
    widths, edges = diamond_with_skips()
    layout = layered_layout(widths, edges)
    assert set(layout.nodes) == set(widths)
    for a, b in combinations(layout.nodes.values(), 2):
        assert not overlap(a, b), (a, b)
    for box in layout.nodes.values():
        assert box.width == widths[box.node_id]
        assert box.x >= 0
        assert box.right <= layout.width
        assert box.y >= 0
        assert box.y + box.height <= layout.height


def test_layout_routes_a_long_edge_around_the_layers_between() -> None:
    widths, edges = diamond_with_skips()
    layout = layered_layout(widths, edges)
    route = next(e for e in layout.edges if (e.source, e.target) == ("a", "e"))
    assert len(route.points) == 2 + 2  # one bend in each of the two layers skipped
    assert route.points[0] == (layout.nodes["a"].right, layout.nodes["a"].middle)
    assert route.points[-1] == (layout.nodes["e"].x, layout.nodes["e"].middle)
    assert route.path.startswith("M")
    assert route.path.count("C") == 3
    for x, y in route.points[1:-1]:
        assert not any(
            box.x <= x <= box.right and box.y <= y <= box.y + box.height
            for box in layout.nodes.values()
        )


def test_layout_orders_layers_to_remove_crossings() -> None:
    # Given in an order that crosses: a1 -> b2 and a2 -> b1.
    widths = dict.fromkeys(("a1", "a2", "b1", "b2"), 80.0)
    edges = [("a1", "b2"), ("a2", "b1")]
    graph: nx.DiGraph[str] = nx.DiGraph(edges)
    assert crossings(graph, [["a1", "a2"], ["b1", "b2"]]) == 1
    layout = layered_layout(widths, edges)
    by_height = sorted(layout.nodes.values(), key=lambda box: (box.layer, box.y))
    layers = [[b.node_id for b in by_height if b.layer == n] for n in (0, 1)]
    assert crossings(graph, layers) == 0


def test_layout_of_nothing_a_single_node_and_bad_input() -> None:
    empty = layered_layout({}, [])
    assert (empty.nodes, empty.edges) == ({}, [])
    single = layered_layout({"only": 100.0}, [])
    assert single.nodes["only"].layer == 0
    with pytest.raises(ValueError, match="cycle"):
        layered_layout({"a": 1.0, "b": 1.0}, [("a", "b"), ("b", "a")])
    with pytest.raises(ValueError, match="unknown"):
        layered_layout({"a": 1.0}, [("a", "z")])
