"""``core.dag_run_conf_overrides_params`` reaches DAG-level callbacks as it reaches tasks:
on a worker (``workers.dagcallbacks``) and in ``loom dags test --conf``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.services.runs import trigger_dag
from tests.support.cli import loom
from tests.workers.conftest import T0, Sessions, refresh
from workers.dagcache import DagCache
from workers.dagcallbacks import run_dag_callbacks

DAG_FILE = """
import json
from datetime import datetime
from engine import DAG, Param, task

def note(context):
    with open({out!r}, "a") as out:
        out.write(json.dumps({{"callback": context["params"]["n"]}}) + "\\n")

with DAG("cb_params", schedule=None, start_date=datetime(2026, 1, 1),
         params={{"n": Param(1, type="integer")}}, on_success_callback=note) as dag:
    @task
    def show(params=None):
        with open({out!r}, "a") as out:
            out.write(json.dumps({{"task": params["n"]}}) + "\\n")

    show()
"""


def _write(folder: Path, out: Path) -> None:
    (folder / "cb_params.py").write_text(DAG_FILE.format(out=str(out)))


def _seen(out: Path) -> list[dict[str, int]]:
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.parametrize(("overrides", "seen"), [(True, 5), (False, 1)])
def test_a_workers_dag_callback_sees_params_as_the_setting_says(
    sessions: Sessions, dags_folder: Path, tmp_path: Path, overrides: bool, seen: int
) -> None:
    out = tmp_path / "seen.jsonl"
    _write(dags_folder, out)
    refresh(sessions, dags_folder)
    with sessions.begin() as session:
        run_pk = trigger_dag(session=session, dag_id="cb_params", conf={"n": 5}, now=T0).id
    called = run_dag_callbacks(
        dag_run_id=run_pk, state="success", reason="success", session_factory=sessions,
        dag_cache=DagCache(), dags_folder=dags_folder, conf_overrides=overrides,
    )  # fmt: skip
    assert called == 1
    assert _seen(out) == [{"callback": seen}]


@pytest.mark.parametrize(("overrides", "seen"), [("true", 5), ("false", 1)])
def test_dags_test_conf_follows_the_setting_in_tasks_and_callbacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overrides: str, seen: int
) -> None:
    folder, out = tmp_path / "dags", tmp_path / "seen.jsonl"
    folder.mkdir()
    _write(folder, out)
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(folder))
    monkeypatch.setenv("LOOM__CORE__DAG_RUN_CONF_OVERRIDES_PARAMS", overrides)
    result = loom("dags", "test", "cb_params", "--conf", '{"n": 5}')
    assert result.exit_code == 0, result.output
    assert _seen(out) == [{"task": seen}, {"callback": seen}]
    refused = loom("dags", "test", "cb_params", "--conf", '{"n": "five"}')
    assert refused.exit_code != 0  # conf is checked whatever the setting
    assert "param 'n' must be of type integer, got str" in refused.output
