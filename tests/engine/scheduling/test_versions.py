"""DAG versions: a run is scheduled, finished and cleared on the graph it was created with,
whatever its DAG file becomes meanwhile; a new run takes the newest version."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.models import DagRun, DagVersion
from engine.scheduling.scheduler import Scheduler
from engine.services.dagversions import list_versions
from engine.services.runs import trigger_dag
from engine.services.taskchanges import clear_task_instances
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, TI, chain_dag, load, runs, states, work
from tests.support.executors import RecordingExecutor

SEC = timedelta(seconds=1)


def _trigger(sessions: sessionmaker[Session], run_id: str) -> None:
    with sessions.begin() as session:
        trigger_dag(session=session, dag_id="chain", run_id=run_id, now=START)


def _version_of(sessions: sessionmaker[Session], run_id: str) -> int:
    with sessions() as session:
        number = session.scalar(
            sa.select(DagVersion.version_number)
            .join(DagRun, DagRun.dag_version_id == DagVersion.id)
            .where(DagRun.run_id == run_id)
        )
        assert number is not None
        return number


@pytest.fixture
def on_v2(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> Scheduler:
    """r1 created on v1 (a >> b >> c) with ``a`` done; then the file becomes v2
    (a >> c >> d: ``b`` removed, ``d`` added)."""
    chain_dag(dags_folder, tasks="'a', 'b', 'c'")
    load(sessions, dags_folder)
    _trigger(sessions, "r1")
    scheduler = make_scheduler()
    scheduler.tick(START)
    work(sessions, executor.submitted[-1], TI.SUCCESS, START)
    chain_dag(dags_folder, tasks="'a', 'c', 'd'")
    load(sessions, dags_folder, now=START + SEC)
    return scheduler


def test_a_run_finishes_on_its_version_while_the_file_changes(
    sessions: sessionmaker[Session], on_v2: Scheduler, executor: RecordingExecutor
) -> None:
    scheduler = on_v2
    with sessions() as session:
        assert [v.version_number for v in list_versions(session=session, dag_id="chain")] == [2, 1]

    for step, task_id in enumerate(["b", "c"], start=2):
        scheduler.tick(START + step * SEC)
        job = executor.submitted[-1]
        assert job.task_id == task_id  # v1's order: b (gone from the file) before c
        work(sessions, job, TI.SUCCESS, START + step * SEC)
    scheduler.tick(START + 5 * SEC)

    assert runs(sessions, "chain")[0].state is DagRunState.SUCCESS
    assert states(sessions, "chain", "r1") == {"a": TI.SUCCESS, "b": TI.SUCCESS, "c": TI.SUCCESS}
    assert executor.task_ids == ["a", "b", "c"]
    assert _version_of(sessions, "r1") == 1


def test_a_new_run_takes_the_newest_version(
    sessions: sessionmaker[Session], on_v2: Scheduler, executor: RecordingExecutor
) -> None:
    scheduler = on_v2
    _trigger(sessions, "r2")

    assert set(states(sessions, "chain", "r2")) == {"a", "c", "d"}
    assert _version_of(sessions, "r2") == 2
    scheduler.tick(START + 2 * SEC)
    queued = {job.task_id for job in executor.submitted[1:]}
    assert queued == {"a", "b"}  # r2 starts at a; r1 goes on with b
    with sessions() as session:
        summaries = {v.version_number: v for v in list_versions(session=session, dag_id="chain")}
    assert (summaries[1].task_count, summaries[1].run_count) == (3, 1)
    assert (summaries[2].task_count, summaries[2].run_count) == (3, 1)


@pytest.mark.usefixtures("on_v2")
def test_clearing_an_old_run_follows_its_own_graph(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        cleared = clear_task_instances(
            session=session,
            dag_id="chain",
            run_id="r1",
            task_ids=["a"],
            downstream=True,
            now=START + 2 * SEC,
        )
        # v1's downstream of a is b, c; the file's (v2) would be c, d
        assert sorted(ti.task_id for ti in cleared) == ["a", "b", "c"]


def test_an_unchanged_graph_makes_no_new_version(
    sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    chain_dag(dags_folder)
    load(sessions, dags_folder)
    path = dags_folder / "chain.py"
    path.write_text(path.read_text() + "\n# a comment changes the file, not the graph\n")
    load(sessions, dags_folder, now=START + SEC)
    with sessions() as session:
        [version] = session.scalars(sa.select(DagVersion)).all()
    assert (version.version_number, version.fileloc) == (1, str(path))
    assert version.source_code is not None
    assert "a comment" not in version.source_code  # the text parsed into version 1


def test_a_graph_that_comes_back_is_a_new_version(
    sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    for step, tasks in enumerate(["'a', 'b'", "'a'", "'a', 'b'"]):
        chain_dag(dags_folder, tasks=tasks)
        load(sessions, dags_folder, now=START + step * SEC)
    with sessions() as session:
        page = list_versions(session=session, dag_id="chain")
    assert [(v.version_number, v.task_count) for v in page] == [(3, 2), (2, 1), (1, 2)]
    assert page.items[0].dag_hash == page.items[2].dag_hash
    assert page.items[0].created_at == START + 2 * SEC
