"""A tick advances only the runs whose instances changed: an unchanged run is not read,
and a change made by each write path (a worker's finish, an API clear or mark, a
scheduler step, a bulk write) is seen by the next tick."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from engine.models import DagRun, TaskInstance
from engine.models.changes import DagRunChange
from engine.scheduling import scheduler as scheduler_module
from engine.scheduling.scheduler import Scheduler
from engine.services.runs import mark_run
from engine.services.taskchanges import clear_task_instances, mark_task_instance
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, TI, Rig, chain_dag

SEC = timedelta(seconds=1)


class ReadRuns:
    """Records which runs the advance step reads the instances of."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read: list[int] = []
        real = scheduler_module.instance_rows

        def recording(*, session: Any, run_ids: Collection[int], **kw: Any) -> Any:
            self.read += list(run_ids)
            return real(session=session, run_ids=run_ids, **kw)

        monkeypatch.setattr(scheduler_module, "instance_rows", recording)


@pytest.fixture
def read_runs(monkeypatch: pytest.MonkeyPatch) -> ReadRuns:
    return ReadRuns(monkeypatch)


def _quiet_chain(rig: Rig, **settings: str) -> Scheduler:
    """A chain a >> b >> c whose ``a`` is queued, ticked until nothing is left to note."""
    chain_dag(rig.dags_folder, "chain")
    rig.load()
    rig.trigger("chain")
    scheduler = rig.scheduler(**settings)
    assert scheduler.tick(START).queued == 1
    scheduler.tick(START)  # reads the changes the first tick made itself
    assert _notes(rig) == 0
    return scheduler


def _notes(rig: Rig) -> int:
    with rig.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(DagRunChange)) or 0


def _run_pk(rig: Rig) -> int:
    (run,) = rig.runs("chain")
    return run.id


def test_a_tick_reads_no_instance_of_an_unchanged_run(rig: Rig, read_runs: ReadRuns) -> None:
    scheduler = _quiet_chain(rig)
    read_runs.read.clear()
    for second in range(1, 4):
        report = scheduler.tick(START + second * SEC)
        assert not report.errors
    assert read_runs.read == []


def test_in_flight_moves_are_not_noted(rig: Rig, read_runs: ReadRuns) -> None:
    scheduler = _quiet_chain(rig)
    rig.work(rig.executor.submitted[0], TI.RUNNING, START)  # a claim: queued -> running
    assert _notes(rig) == 0
    read_runs.read.clear()
    scheduler.tick(START + SEC)
    assert read_runs.read == []


def test_a_workers_finish_is_seen(rig: Rig, read_runs: ReadRuns) -> None:
    scheduler = _quiet_chain(rig)
    rig.work(rig.executor.submitted[0], TI.SUCCESS, START)
    read_runs.read.clear()
    report = scheduler.tick(START + SEC)
    assert read_runs.read == [_run_pk(rig)]
    assert report.queued == 1
    assert rig.executor.submitted[-1].task_id == "b"


def test_a_task_marked_by_hand_is_seen(rig: Rig) -> None:
    scheduler = _quiet_chain(rig)
    with rig.sessions.begin() as session:
        mark_task_instance(
            session=session, dag_id="chain", run_id="r", task_id="a", state=TI.FAILED, now=START
        )
    report = scheduler.tick(START + SEC)
    assert report.runs_finished == 1
    assert rig.states("chain") == {"a": TI.FAILED, "b": TI.UPSTREAM_FAILED,
                                   "c": TI.UPSTREAM_FAILED}  # fmt: skip


@pytest.mark.parametrize(
    ("marked", "expected"),
    [
        # Airflow's rule: success ends every unfinished task as success; failed fails the
        # started ones and skips the rest. A finished task keeps its state either way.
        ("success", {"a": TI.SUCCESS, "b": TI.SUCCESS, "c": TI.SUCCESS}),
        ("failed", {"a": TI.FAILED, "b": TI.SKIPPED, "c": TI.SKIPPED}),
    ],
)
def test_a_run_marked_by_hand_ends_its_unfinished_tasks(
    rig: Rig, marked: str, expected: dict[str, TI]
) -> None:
    scheduler = _quiet_chain(rig)
    rig.work(rig.executor.submitted[0], TI.RUNNING, START)  # a's worker is running it
    with rig.sessions.begin() as session:
        mark_run(session=session, dag_id="chain", run_id="r", state=DagRunState(marked),
                 now=START + SEC)  # fmt: skip
    assert rig.states("chain") == expected
    report = scheduler.tick(START + 2 * SEC)
    assert report.queued == 0
    assert [run.state for run in rig.runs("chain")] == [DagRunState(marked)]
    with rig.sessions() as session:
        ended = session.scalars(sa.select(TaskInstance.end_date)).all()
    assert all(end is not None for end in ended)


def test_a_run_marked_failed_keeps_its_finished_tasks(rig: Rig) -> None:
    _quiet_chain(rig)
    rig.work(rig.executor.submitted[0], TI.SUCCESS, START)
    with rig.sessions.begin() as session:
        mark_run(session=session, dag_id="chain", run_id="r", state=DagRunState.FAILED,
                 now=START + SEC)  # fmt: skip
    assert rig.states("chain") == {"a": TI.SUCCESS, "b": TI.SKIPPED, "c": TI.SKIPPED}


def test_a_cleared_task_is_seen(rig: Rig) -> None:
    scheduler = _quiet_chain(rig)
    rig.work(rig.executor.submitted[0], TI.FAILED, START)
    assert scheduler.tick(START + SEC).runs_finished == 1
    with rig.sessions.begin() as session:
        clear_task_instances(session=session, dag_id="chain", run_id="r", task_ids=["a"],
                             downstream=True, now=START + 2 * SEC)  # fmt: skip
    report = scheduler.tick(START + 3 * SEC)
    assert report.queued == 1
    assert rig.executor.submitted[-1].task_id == "a"


def test_a_change_made_by_a_scheduler_step_is_seen(rig: Rig) -> None:
    scheduler = _quiet_chain(rig, zombie_threshold="60s")
    rig.work(rig.executor.submitted[0], TI.RUNNING, START)  # claimed, then the worker died
    assert scheduler.tick(START + 61 * SEC).zombies == 1  # runs after the advance step
    report = scheduler.tick(START + 62 * SEC)
    assert report.runs_finished == 1
    assert rig.states("chain")["b"] is TI.UPSTREAM_FAILED


def test_a_bulk_write_is_seen(rig: Rig) -> None:
    """A write that bypasses ``set_task_state`` (an ``UPDATE`` of many rows) is noted too."""
    scheduler = _quiet_chain(rig)
    with rig.sessions.begin() as session:
        session.execute(sa.update(TaskInstance).values(state=TI.SKIPPED))
    assert scheduler.tick(START + SEC).runs_finished == 1
    (run,) = rig.runs("chain")
    assert run.state is DagRunState.SUCCESS


def test_a_run_another_scheduler_holds_keeps_its_notes(rig: Rig, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no row locks: one writer at a time")
    scheduler = _quiet_chain(rig)
    rig.work(rig.executor.submitted[0], TI.SUCCESS, START)
    with rig.sessions.begin() as other:  # the other scheduler, advancing the run
        other.execute(sa.select(DagRun).with_for_update())
        assert scheduler.tick(START + SEC).queued == 0
    assert _notes(rig) == 1
    assert scheduler.tick(START + 2 * SEC).queued == 1
    assert rig.executor.submitted[-1].task_id == "b"


def test_a_run_waiting_on_its_previous_run_is_advanced_when_that_run_moves(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "chain", tasks="'a'", default_args="{'depends_on_past': True}")
    rig.load()
    rig.trigger("chain", "r1", logical_date=START)
    rig.trigger("chain", "r2", logical_date=START + SEC)
    scheduler = rig.scheduler()
    scheduler.tick(START)
    first = rig.executor.submitted[0]
    assert len(rig.executor.submitted) == 1  # r2's a waits for r1's
    for second in range(1, 3):
        scheduler.tick(START + second * SEC)
    rig.work(first, TI.SUCCESS, START + 3 * SEC)  # noted on r1, not on r2
    scheduler.tick(START + 4 * SEC)
    assert len(rig.executor.submitted) == 2
    assert ti_of_run(rig, "r2").state is TI.QUEUED


def ti_of_run(rig: Rig, run_id: str) -> TaskInstance:
    with rig.sessions() as session:
        stmt = sa.select(TaskInstance).where(TaskInstance.run_id == run_id)
        return session.scalars(stmt).one()
