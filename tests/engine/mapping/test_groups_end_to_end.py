"""Mapped task groups end to end on real databases: the scheduler expands the group's
tasks, the in-process runner runs each instance as a worker would; values, trigger rules
and branch choices are per map index inside the group, collected outside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.models import TaskInstance
from engine.state import DagRunState
from engine.timeutil import utcnow
from tests.support.mappedgroups import write_group_dag
from tests.support.mapping import TI, Harness, Sessions
from workers import run_task


@pytest.fixture
def harness(sessions: Sessions, dags_folder: Path, db_url: str, tmp_path: Path) -> Any:
    def make(**values: Any) -> Harness:
        write_group_dag(dags_folder, **values)
        return Harness(sessions, dags_folder, db_url, tmp_path / "home")

    return make


def test_every_task_of_the_group_runs_once_per_element(harness: Any) -> None:
    h = harness()

    assert h.run_until_done() is DagRunState.SUCCESS

    for task_id in ("grp.add", "grp.double", "grp.note"):
        assert [i[:2] for i in h.instances(task_id)] == [(i, TI.SUCCESS) for i in range(3)]
    # Placeholder and partial argument per instance; the group's own upstream value at
    # the same map index, not the whole list.
    assert [h.value("grp.add", i) for i in range(3)] == [11, 12, 13]
    assert [h.value("grp.double", i) for i in range(3)] == [[22, 0], [24, 1], [26, 2]]
    assert [h.value("grp.note", i) for i in range(3)] == ["1:11", "2:12", "3:13"]
    # Outside the group: every instance's value, in map index order.
    assert h.value("total") == [[22, 0], [24, 1], [26, 2]]


def test_expand_kwargs_and_a_classic_operator_in_the_group(harness: Any) -> None:
    h = harness()

    h.run_until_done()

    assert [h.value("words.say", i) for i in range(2)] == ["ab", "c"]
    # The second dict has no "times": the function's default.
    assert [h.value("words.repeat", i) for i in range(2)] == ["abab", "c"]


def test_a_failure_fails_only_its_own_map_index_downstream(harness: Any) -> None:
    h = harness(FAIL_AT=2)

    assert h.run_until_done() is DagRunState.FAILED

    assert [s for _, s, _ in h.instances("grp.add")] == [TI.SUCCESS, TI.FAILED, TI.SUCCESS]
    assert [s for _, s, _ in h.instances("grp.double")] == [
        TI.SUCCESS,
        TI.UPSTREAM_FAILED,
        TI.SUCCESS,
    ]
    # all_done per index: instance 1 ran after its failed upstream, without its value.
    assert [h.value("grp.note", i) for i in range(3)] == ["1:11", "2:None", "3:13"]
    # Outside, every instance counts: all_success sees a failed upstream instance.
    assert h.instances("total") == [(-1, TI.UPSTREAM_FAILED, 0)]


def test_downstream_collects_what_the_instances_pushed(harness: Any) -> None:
    h = harness(FAIL_AT=2, RULE="all_done")

    h.run_until_done()

    assert h.value("total") == [[22, 0], [26, 2]]


def test_an_instance_waits_only_for_its_own_map_index(harness: Any) -> None:
    h = harness()
    h.scheduler.tick(utcnow())
    (make,) = [job for job in h.executor.submitted if job.task_id == "make"]
    run_task(make.ti_id, make.try_number, ctx=h.worker)
    h.scheduler.tick(utcnow())
    with h.sessions() as session:
        index_of = dict(session.execute(sa.select(TaskInstance.id, TaskInstance.map_index)).all())
    adds = {index_of[job.ti_id]: job for job in h.executor.submitted if job.task_id == "grp.add"}
    assert sorted(adds) == [0, 1, 2]

    run_task(adds[1].ti_id, adds[1].try_number, ctx=h.worker)
    h.scheduler.tick(utcnow())

    states = {index: state for index, state, _ in h.instances("grp.double")}
    assert states[1] in (TI.SCHEDULED, TI.QUEUED)
    assert states[0] is TI.NONE
    assert states[2] is TI.NONE


def test_an_empty_expansion_skips_the_group_and_its_downstream(harness: Any) -> None:
    h = harness(MAKE="[]")

    assert h.run_until_done() is DagRunState.SUCCESS

    for task_id in ("grp.add", "grp.double", "grp.note", "total"):
        assert h.instances(task_id) == [(-1, TI.SKIPPED, 0)]


def test_a_branch_in_the_group_chooses_for_its_own_map_index(harness: Any) -> None:
    h = harness()

    h.run_until_done()

    assert [s for _, s, _ in h.instances("pick.a")] == [TI.SUCCESS, TI.SKIPPED, TI.SUCCESS]
    assert [s for _, s, _ in h.instances("pick.b")] == [TI.SKIPPED, TI.SUCCESS, TI.SKIPPED]


def test_expanding_the_group_is_one_insert_per_task(harness: Any) -> None:
    h = harness(MAKE="list(range(40))")
    h.scheduler.tick(utcnow())
    (make,) = [job for job in h.executor.submitted if job.task_id == "make"]
    run_task(make.ti_id, make.try_number, ctx=h.worker)
    inserts: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TASK_INSTANCE"):
            inserts.append(statement)

    engine = h.sessions.kw["bind"]
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        h.scheduler.tick(utcnow())
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    for task_id in ("grp.add", "grp.double", "grp.note"):
        assert [i for i, _, _ in h.instances(task_id)] == list(range(40))
    assert len(inserts) == 3  # one per task of the group, not one per instance
