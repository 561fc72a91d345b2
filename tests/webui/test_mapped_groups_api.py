"""The tasks of a mapped task group through the API: each instance with its map_index,
as the instances of a mapped task are (the grid and graph read the same rows)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from engine.state import DagRunState
from tests.support.database import database_sessions
from tests.support.mappedgroups import write_group_dag
from tests.support.mapping import Harness
from tests.webui.conftest import app_for, bearer, login
from tests.webui.world import USERNAMES, build_world

RUN = "/api/v2/dags/mapping/dagRuns/r/taskInstances"


def _app(tmp_path: Path) -> Flask:
    url = f"sqlite:///{tmp_path / 'loom.db'}"
    folder = tmp_path / "dags"
    folder.mkdir()
    write_group_dag(folder, FAIL_AT=2, RULE="all_done")
    build_world(url, folder)
    with database_sessions(url) as sessions:
        harness = Harness(sessions, folder, url, tmp_path / "home")
        assert harness.run_until_done() is DagRunState.SUCCESS  # its leaves succeeded
    return app_for(url, tmp_path, folder)


def test_a_mapped_groups_tasks_list_their_instances_by_map_index(tmp_path: Path) -> None:
    client = _app(tmp_path).test_client()
    headers = bearer(login(client, USERNAMES["Viewer"])["access_token"])

    reply = client.get(f"{RUN}?limit=100", headers=headers).get_json()
    assert "task_instances" in reply, reply
    listed = reply["task_instances"]
    double = sorted((t["map_index"], t["state"]) for t in listed if t["task_id"] == "grp.double")
    assert double == [(0, "success"), (1, "upstream_failed"), (2, "success")]

    mapped = client.get(f"{RUN}/grp.add/listMapped", headers=headers).get_json()
    assert [(t["map_index"], t["state"]) for t in mapped["task_instances"]] == [
        (0, "success"),
        (1, "failed"),
        (2, "success"),
    ]
    one = client.get(f"{RUN}/grp.note/1", headers=headers).get_json()
    assert (one["task_id"], one["map_index"], one["state"]) == ("grp.note", 1, "success")
    listed = client.get(f"{RUN}/grp.note/xcomEntries?map_index=2", headers=headers).get_json()
    assert [(x["key"], x["map_index"]) for x in listed["xcom_entries"]] == [("return_value", 2)]
    xcom = client.get(f"{RUN}/grp.note/xcomEntries/return_value?map_index=2", headers=headers)
    assert (xcom.get_json()["map_index"], xcom.get_json()["value"]) == (2, "3:13")
