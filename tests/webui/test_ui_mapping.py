"""Mapped tasks in the web UI, on PostgreSQL, after a real run (the scheduler expands, the
in-process runner runs each instance): the grid's count and summary, the list of map
indexes, one instance's page, log, mark and clear, the run view and the graph's badge."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import TaskInstance, migrate
from engine.services.runs import trigger_dag
from engine.services.taskchanges import mark_task_instance
from engine.state import DagRunState
from engine.timeutil import utcnow
from tests.support.database import database_sessions
from tests.support.mapping import TI, Harness, write_dag
from tests.webui.conftest import app_for
from tests.webui.ui import ui_sign_in
from tests.webui.world import build_world
from webui import db
from webui.ui.viewmodels.grid import dag_grid

pytestmark = pytest.mark.postgres


@dataclass
class Mapped:
    app: Flask
    client: FlaskClient
    csrf: str


@pytest.fixture
def mapped(postgres_url: str, tmp_path: Path) -> Mapped:
    """The mapping DAG's run ``r`` run to the end, then ``double[1]`` marked failed: its
    instances read 2 success, 1 failed. An Admin is signed in."""
    folder = tmp_path / "dags"
    folder.mkdir()
    write_dag(folder)
    migrate.upgrade_and_seed(postgres_url)
    with database_sessions(postgres_url) as sessions:
        harness = Harness(sessions, folder, postgres_url, tmp_path / "home")
        assert harness.run_until_done() is DagRunState.SUCCESS
        with sessions.begin() as session:
            mark_task_instance(
                session=session,
                dag_id="mapping",
                run_id="r",
                task_id="double",
                map_index=1,
                state=TI.FAILED,
                now=utcnow(),
            )
    build_world(postgres_url, folder)  # users of every role (after: the harness wants one run)
    app = app_for(postgres_url, tmp_path, folder)
    client = app.test_client()
    return Mapped(app, client, ui_sign_in(client, "Admin"))


def text(client: FlaskClient, path: str, status: int = 200) -> str:
    reply = client.get(path)
    assert reply.status_code == status, reply.get_data(as_text=True)
    return reply.get_data(as_text=True)


def states_of(app: Flask, task_id: str) -> list[tuple[int, TI]]:
    with app.app_context():
        rows = db.session().execute(
            sa.select(TaskInstance.map_index, TaskInstance.state)
            .where(TaskInstance.task_id == task_id)
            .order_by(TaskInstance.map_index)
        )
        return [(index, state) for index, state in rows]


def test_the_grid_shows_a_mapped_tasks_count_and_summary(mapped: Mapped) -> None:
    with mapped.app.app_context():
        grid = dag_grid(session=db.session(), dag_id="mapping", runs=5)
    rows = {row.task_id: row for row in grid.rows}
    double = rows["double"]
    assert double.states == (TI.FAILED,)
    summary = double.mapped[0]
    assert summary is not None
    assert (summary.count, summary.text) == (3, "3 mapped: 2 success, 1 failed")
    assert double.badge == "[3]"
    assert rows["make"].mapped == ()
    assert rows["make"].badge == ""

    data = mapped.client.get("/dags/mapping/grid/data").get_json()
    place = {task[0]: index for index, task in enumerate(data["tasks"])}
    assert data["tasks"][place["double"]][3] == "mapped"
    assert data["tasks"][place["make"]][3] == "task"
    counts = data["mapped"][str(place["double"])]
    assert [[data["states"][code], n] for code, n in counts[0]] == [["success", 2], ["failed", 1]]
    assert data["states"][data["cells"][place["double"]]] == "failed"  # one run: a cell per row
    assert str(place["make"]) not in data["mapped"]  # an unmapped task is unchanged
    assert data["states"][data["cells"][place["make"]]] == "success"
    details = mapped.client.get(
        "/dags/mapping/grid/cell", query_string={"task_id": "double", "run_id": "r"}
    ).get_json()
    assert details["kind"] == "mapped"
    assert (details["count"], details["summary"]) == (3, "3 mapped: 2 success, 1 failed")
    assert details["counts"] == [["success", 2], ["failed", 1]]
    assert details["href"] == "/dags/mapping/runs/r/tasks/double/mapped"
    assert [a["label"] for a in details["actions"]] == [
        "Clear with downstream",
        "Clear only this task",
    ]
    make = mapped.client.get(
        "/dags/mapping/grid/cell", query_string={"task_id": "make", "run_id": "r"}
    ).get_json()
    assert make["kind"] == "task"
    assert make["log"]["lines"]  # the try's output, its last lines


def test_the_mapped_list_links_each_index_and_an_instance_has_its_page(mapped: Mapped) -> None:
    page = text(mapped.client, "/dags/mapping/runs/r/tasks/double/mapped")
    assert "3 mapped: 2 success, 1 failed" in page
    assert re.findall(r'data-map-index="(\d+)"', page) == ["0", "1", "2"]
    assert 'href="/dags/mapping/runs/r/tasks/double?map_index=2"' in page
    assert 'href="/dags/mapping/runs/r/tasks/double?map_index=2#log-heading"' in page
    assert "1 / 1" in page  # try 1 of 1

    one = text(mapped.client, "/dags/mapping/runs/r/tasks/double?map_index=2")
    assert "map index 2" in one
    assert '<dd class="ti-map-index">2</dd>' in one
    assert '<pre class="xcom-value">26</pre>' in one  # (3 + 10) * 2: its own value
    assert 'href="/dags/mapping/runs/r/tasks/double/mapped"' in one  # back to the list
    assert "/dags/mapping/task-clear/double/r?map_index=2" in one
    log = mapped.client.get("/dags/mapping/task-log/double/r?map_index=2")
    assert log.status_code == 200
    assert log.get_json()["try_number"] == 1

    run = text(mapped.client, "/dags/mapping/runs/r")
    assert '<a href="/dags/mapping/runs/r/tasks/double?map_index=2">double[2]</a>' in run
    assert 'data-task="double" data-map-index="0"' in run


def test_a_missing_or_bad_map_index_is_a_clear_error(mapped: Mapped) -> None:
    missing = text(mapped.client, "/dags/mapping/runs/r/tasks/double?map_index=7", 404)
    assert "task &#39;double&#39; of run &#39;r&#39; has no map_index 7 (it has 0..2)" in missing
    bad = text(mapped.client, "/dags/mapping/runs/r/tasks/double?map_index=two", 400)
    assert "map_index: must be a map index" in bad
    log = mapped.client.get("/dags/mapping/task-log/double/r?map_index=7")
    assert log.status_code == 404
    assert "no map_index 7" in log.get_json()["message"]
    assert text(mapped.client, "/dags/mapping/runs/r/tasks/nope/mapped", 404)
    # Without a map index, a mapped task's page is the list of its instances.
    reply = mapped.client.get("/dags/mapping/runs/r/tasks/double")
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith("/dags/mapping/runs/r/tasks/double/mapped")


def test_mark_and_clear_one_map_index_from_its_page(mapped: Mapped) -> None:
    reply = mapped.client.post(
        "/dags/mapping/task-mark/double/r?map_index=0",
        data={"csrf_token": mapped.csrf, "state": "failed"},
    )
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith("/dags/mapping/runs/r/tasks/double?map_index=0")
    assert states_of(mapped.app, "double") == [(0, TI.FAILED), (1, TI.FAILED), (2, TI.SUCCESS)]
    reply = mapped.client.post(
        "/dags/mapping/task-clear/double/r?map_index=1",
        data={"csrf_token": mapped.csrf, "downstream": "false"},
    )
    assert reply.status_code == 302
    assert states_of(mapped.app, "double") == [(0, TI.FAILED), (1, TI.NONE), (2, TI.SUCCESS)]
    page = text(mapped.client, "/dags/mapping/runs/r/tasks/double?map_index=1")
    assert "cleared 1 task(s) to run again: double" in page


def test_the_graph_badges_a_mapped_task_with_its_count_or_not_expanded(mapped: Mapped) -> None:
    graph = text(mapped.client, "/dags/mapping/graph?run_id=r")
    assert 'data-task="double" data-mapped="[3]"' in graph
    assert '<tspan class="map-count">[3]</tspan>' in graph
    assert 'href="/dags/mapping/runs/r/tasks/double/mapped"' in graph
    assert "3 mapped: 2 success, 1 failed" in graph  # the node's title
    assert 'data-task="make" transform' in graph  # no badge
    with mapped.app.app_context():
        trigger_dag(session=db.session(), dag_id="mapping", run_id="r2", now=utcnow())
        db.commit()
    fresh = text(mapped.client, "/dags/mapping/graph?run_id=r2")
    assert 'data-task="add" data-mapped="[ ]"' in fresh
    assert "mapped, not expanded yet (none)" in fresh
    grid = mapped.client.get("/dags/mapping/grid/data").get_json()
    add = next(index for index, task in enumerate(grid["tasks"]) if task[0] == "add")
    assert grid["runs"][-1][0] == "r2"
    assert grid["mapped"][str(add)][-1] == []  # not expanded yet: no counts
    assert grid["states"][grid["cells"][add * 2 + 1]] == "none"
