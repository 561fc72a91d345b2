"""Looking up, marking and clearing one instance of a mapped task (services and CLI),
and the expansion's cost: one INSERT for all of a task's new instances."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.errors import InvalidInputError, NotFoundError
from engine.models import TaskInstance
from engine.services.runs import get_run
from engine.services.taskchanges import clear_task_instance, mark_task_instance
from engine.services.taskinstances import get_task_instance, mapped_instances, task_states
from engine.state import DagRunState
from engine.timeutil import utcnow
from tests.support.cli import loom
from tests.support.mapping import TI, Harness, Sessions, write_dag


@pytest.fixture
def done(sessions: Sessions, dags_folder: Path, tmp_path: Path, db_url: str) -> Harness:
    """The mapping DAG's run ``r``, finished: ``add`` has instances 0..2."""
    write_dag(dags_folder)
    h = Harness(sessions, dags_folder, db_url, tmp_path / "home")
    assert h.run_until_done() is DagRunState.SUCCESS
    return h


def test_a_mapped_task_needs_a_map_index_naming_the_choices(done: Harness) -> None:
    with done.sessions() as session:
        with pytest.raises(InvalidInputError, match=r"'add' is mapped.*one of 0\.\.2") as info:
            get_task_instance(session=session, dag_id="mapping", run_id="r", task_id="add")
        assert "map_index" in info.value.problems
        with pytest.raises(NotFoundError, match=r"no map_index 7 \(it has 0\.\.2\)"):
            get_task_instance(
                session=session, dag_id="mapping", run_id="r", task_id="add", map_index=7
            )
        one = get_task_instance(
            session=session, dag_id="mapping", run_id="r", task_id="add", map_index=1
        )
        assert (one.map_index, one.state) == (1, TI.SUCCESS)
        # An unmapped task is found as before, without a map index.
        assert (
            get_task_instance(session=session, dag_id="mapping", run_id="r", task_id="make").state
            is TI.SUCCESS
        )
        listed = mapped_instances(session=session, dag_id="mapping", run_id="r", task_id="add")
        assert [ti.map_index for ti in listed] == [0, 1, 2]


def test_mark_and_clear_one_instance(done: Harness) -> None:
    with done.sessions.begin() as session:
        mark_task_instance(
            session=session,
            dag_id="mapping",
            run_id="r",
            task_id="double",
            map_index=2,
            state=TI.FAILED,
            now=utcnow(),
        )
        run = get_run(session=session, dag_id="mapping", run_id="r")
        assert task_states(session=session, run=run)["double"] is TI.FAILED
    with done.sessions.begin() as session:
        cleared = clear_task_instance(
            session=session,
            dag_id="mapping",
            run_id="r",
            task_id="add",
            map_index=1,
            downstream=True,
            now=utcnow(),
        )
        names = sorted((ti.task_id, ti.map_index) for ti in cleared)
    # add[1] only, and everything downstream of add whole.
    assert names == [("add", 1), ("double", 0), ("double", 1), ("double", 2), ("total", -1)]
    assert [state for _, state, _ in done.instances("add")] == [TI.SUCCESS, TI.NONE, TI.SUCCESS]


@pytest.fixture
def cli_env(done: Harness, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("LOOM__DATABASE__URL", db_url)
    return done


def test_cli_logs_and_clear_take_a_map_index(cli_env: Harness) -> None:
    result = loom("tasks", "logs", "mapping", "r", "add", "--map-index", "2")
    assert result.exit_code == 0, result.output
    missing = loom("tasks", "logs", "mapping", "r", "add")
    assert missing.exit_code != 0
    assert "give a map_index, one of 0..2" in missing.output
    cleared = loom("tasks", "clear", "mapping", "r", "add", "--map-index", "0")
    assert cleared.exit_code == 0, cleared.output
    assert "cleared 1 task(s): add[0]" in cleared.output
    assert cli_env.instances("add")[0][1] is TI.NONE
    bad = loom("tasks", "clear", "mapping", "r", "add", "--map-index", "5")
    assert bad.exit_code != 0
    assert "no map_index 5" in bad.output
    shown = loom("runs", "show", "mapping", "r", "-o", "json")
    rows = json.loads(shown.stdout)["task_instances"]
    assert sorted(row["map_index"] for row in rows if row["task_id"] == "add") == [0, 1, 2]


def test_expansion_is_one_insert_for_all_instances(
    sessions: Sessions, dags_folder: Path, tmp_path: Path, db_url: str
) -> None:
    write_dag(dags_folder, MAKE="list(range(50))")
    h = Harness(sessions, dags_folder, db_url, tmp_path / "home")
    h.run_until_done(limit=1)  # the first tick queues make
    with sessions() as session:
        make = session.scalars(sa.select(TaskInstance).filter_by(task_id="make")).one()
        job = (make.id, make.try_number)
    from workers import run_task

    run_task(*job, ctx=h.worker)
    inserts: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TASK_INSTANCE"):
            inserts.append(statement)

    engine = sessions.kw["bind"]
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        h.scheduler.tick(utcnow())
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert [i for i, _, _ in h.instances("add")] == list(range(50))
    assert len(inserts) == 1
