"""Task groups and edge labels in the API (group-prefixed task ids, edges), the
graph (collapsed groups, expanding, labels on edges) and the grid (group rows with an
aggregated state)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.models import DagRun
from engine.services.runs import trigger_dag
from engine.state import TI
from tests.webui.conftest import app_for, bearer, login
from tests.webui.ui import ui_sign_in
from tests.webui.world import T0, build_world
from webui import db
from webui.ui.viewmodels.grid import dag_grid
from webui.ui.viewmodels.groups import aggregate_state

GROUPED = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, EmptyOperator, Label, TaskGroup

    with DAG("grouped", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        start = EmptyOperator(task_id="start")
        with TaskGroup("load", tooltip="Load the rows") as load:
            a = EmptyOperator(task_id="a")
            with TaskGroup("inner") as inner:
                b = EmptyOperator(task_id="b")
            a >> inner
        end = EmptyOperator(task_id="end")
        start >> Label("rows ready") >> load >> end
    """
)


def _world(url: str, tmp_path: Path) -> Flask:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "grouped.py").write_text(GROUPED)
    build_world(url, folder)
    app = app_for(url, tmp_path, folder)
    with app.app_context():
        session = db.session()
        run = trigger_dag(session=session, dag_id="grouped", run_id="r1", now=T0)
        for ti in run.task_instances:
            ti.state = {"start": TI.SUCCESS, "load.a": TI.SUCCESS, "load.inner.b": TI.FAILED}.get(
                ti.task_id, TI.NONE
            )
        db.commit()
    return app


@pytest.fixture
def grouped_app(tmp_path: Path) -> Flask:
    return _world(f"sqlite:///{tmp_path / 'loom.db'}", tmp_path)


@pytest.fixture
def signed_in(grouped_app: Flask) -> FlaskClient:
    client = grouped_app.test_client()
    ui_sign_in(client, "Admin")
    return client


def text(reply: object) -> str:
    return reply.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


# -- API ---------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_tasks_api_and_the_graph_give_the_groups_tree_and_labels_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    """Airflow 3's public API has no graph: its tasks carry the group-prefixed ids and the
    edges; the group tree, tooltips and labels are the graph page's (docs/decisions.md)."""
    app = _world(postgres_url, tmp_path)
    client = app.test_client()
    headers = bearer(login(client, "admin")["access_token"])
    listed = client.get("/api/v2/dags/grouped/tasks", headers=headers).get_json()
    edges = {t["task_id"]: t["downstream_task_ids"] for t in listed["tasks"]}
    assert edges == {
        "start": ["load.a"],
        "load.a": ["load.inner.b"],
        "load.inner.b": ["end"],
        "end": [],
    }
    ui_sign_in(client, "Admin")
    page = text(client.get("/dags/grouped/graph?run_id=r1&expand=load"))
    assert 'data-group-box="load"' in page
    assert "Load the rows" in page  # the tooltip
    assert 'class="node group state-failed" data-group="load.inner"' in page  # its parent: load
    assert 'data-edge="start-load.a"' in page
    assert ">rows ready</text>" in page


# -- graph -------------------------------------------------------------------------------------


def test_the_graph_shows_a_group_collapsed_with_its_aggregated_state(
    signed_in: FlaskClient,
) -> None:
    page = text(signed_in.get("/dags/grouped/graph"))
    assert 'class="node group state-failed" data-group="load"' in page
    assert 'data-task="load.a"' not in page
    assert 'data-edge="start-load"' in page
    assert 'data-edge="load-end"' in page
    assert '<text class="edge-label"' in page
    assert ">rows ready</text>" in page
    assert 'href="/dags/grouped/graph?run_id=r1&amp;expand=load" data-graph-link' in page
    assert "Load the rows" in page  # the tooltip


def test_expanding_a_group_draws_its_box_and_tasks_and_nested_groups_stay_collapsed(
    signed_in: FlaskClient,
) -> None:
    page = text(signed_in.get("/dags/grouped/graph?run_id=r1&expand=load"))
    assert 'data-group-box="load"' in page
    assert 'class="node state-success" data-task="load.a"' in page
    assert 'class="node group state-failed" data-group="load.inner"' in page
    assert 'data-edge="start-load.a"' in page
    assert 'data-edge="load.a-load.inner"' in page
    assert 'aria-label="Collapse group load"' in page
    assert ">rows ready</text>" in page
    everything = text(signed_in.get("/dags/grouped/graph?expand=*"))
    assert 'data-task="load.inner.b"' in everything
    assert 'data-group-box="load.inner"' in everything
    collapse = re.search(r'href="([^"]*)" data-graph-link aria-label="Collapse group load"', page)
    assert collapse is not None
    assert "expand" not in collapse.group(1)
    collapse = re.search(
        r'href="([^"]*)" data-graph-link aria-label="Collapse group load"', everything
    )
    assert collapse is not None
    assert "expand" not in collapse.group(1)  # closing "load" closes "load.inner" too


def test_the_graph_fragment_keeps_the_expanded_groups_while_live(signed_in: FlaskClient) -> None:
    fragment = text(
        signed_in.get("/dags/grouped/graph?expand=load", headers={"X-Loom-Fragment": "1"})
    )
    assert fragment.lstrip().startswith(
        '<figure class="graph-figure" data-live="/dags/grouped/graph?run_id=r1&amp;expand=load"'
    )
    assert 'data-group-box="load"' in fragment


def test_an_unknown_group_in_expand_is_ignored(signed_in: FlaskClient) -> None:
    page = text(signed_in.get("/dags/grouped/graph?expand=nope,load.inner"))
    assert 'data-group="load"' in page  # load.inner is inside a collapsed group


# -- grid --------------------------------------------------------------------------------------


def test_the_grid_rows_nest_tasks_under_their_groups(grouped_app: Flask) -> None:
    with grouped_app.app_context():
        grid = dag_grid(session=db.session(), dag_id="grouped", runs=5)
    rows = [(r.task_id, r.is_group, r.ancestors, r.states) for r in grid.rows]
    assert rows == [
        ("start", False, (), (TI.SUCCESS,)),
        ("load", True, (), (TI.FAILED,)),
        ("load.a", False, ("load",), (TI.SUCCESS,)),
        ("load.inner", True, ("load",), (TI.FAILED,)),
        ("load.inner.b", False, ("load", "load.inner"), (TI.FAILED,)),
        ("end", False, (), (TI.NONE,)),
    ]


def test_the_grid_data_marks_group_rows_with_their_paths(signed_in: FlaskClient) -> None:
    data = signed_in.get("/dags/grouped/grid/data").get_json()
    assert data["tasks"] == [
        ["start", "start", None, "task", 0],
        ["load", "load", None, "group", 0],
        ["load.a", "load.a", "load", "task", 1],
        ["load.inner", "inner", "load", "group", 1],
        ["load.inner.b", "load.inner.b", "load.inner", "task", 2],
        ["end", "end", None, "task", 0],
    ]
    states = [data["states"][code] for code in data["cells"]]  # one run: a cell per row
    assert states == ["success", "failed", "success", "failed", "failed", "none"]


def test_grid_of_a_run_without_the_groups_tasks_shows_gaps(grouped_app: Flask) -> None:
    with grouped_app.app_context():
        session = db.session()
        session.execute(sa.delete(DagRun).where(DagRun.dag_id == "grouped"))
        db.commit()
        grid = dag_grid(session=session, dag_id="grouped", runs=5)
    assert grid.runs == []
    assert [r.states for r in grid.rows if r.is_group] == [(), ()]


# -- aggregation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([TI.SUCCESS, TI.FAILED, TI.RUNNING], TI.FAILED),
        ([TI.SUCCESS, TI.UPSTREAM_FAILED, TI.RUNNING], TI.UPSTREAM_FAILED),
        ([TI.SUCCESS, TI.RUNNING, TI.QUEUED], TI.RUNNING),
        ([TI.SUCCESS, TI.UP_FOR_RETRY, TI.RUNNING], TI.UP_FOR_RETRY),
        ([TI.SUCCESS, TI.SCHEDULED, TI.NONE], TI.SCHEDULED),
        ([TI.SUCCESS, TI.NONE], TI.NONE),
        ([TI.SUCCESS, TI.SKIPPED], TI.SUCCESS),
        ([TI.SKIPPED, TI.SKIPPED, None], TI.SKIPPED),
        ([TI.REMOVED], TI.REMOVED),
        ([None, None], None),
    ],
)
def test_a_groups_state_is_its_most_telling_task_state(
    states: list[TI | None], expected: TI | None
) -> None:
    assert aggregate_state(states) is expected


@pytest.mark.postgres
def test_the_task_instances_of_grouped_tasks_carry_their_group_prefixed_ids(
    postgres_url: str, tmp_path: Path
) -> None:
    """Airflow 3's task instances name no group (no ``task_group_id``): the
    group is in the id's prefix, as in Airflow."""
    client = _world(postgres_url, tmp_path).test_client()
    headers = bearer(login(client, "admin")["access_token"])
    listed = client.get("/api/v2/dags/grouped/dagRuns/r1/taskInstances", headers=headers)
    assert listed.status_code == 200
    items = listed.get_json()["task_instances"]
    states = {ti["task_id"]: ti["state"] for ti in items}
    assert states == {
        "start": "success",
        "load.a": "success",
        "load.inner.b": "failed",
        "end": None,
    }
    assert {(ti["map_index"], ti["rendered_map_index"]) for ti in items} == {(-1, None)}
    one = client.get("/api/v2/dags/grouped/dagRuns/r1/taskInstances/load.inner.b", headers=headers)
    assert one.get_json()["task_id"] == "load.inner.b"
