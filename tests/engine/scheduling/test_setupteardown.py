"""Setup and teardown under the scheduler: a teardown runs after failed work, its failure
does not fail the run unless asked, a skipped setup skips it, clearing brings setups back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine.scheduling.scheduler import Scheduler
from engine.services.runs import trigger_dag
from engine.services.taskinstances import clear_task_instance
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, TI, load, runs, states, work, write_dag
from tests.support.executors import RecordingExecutor

SEC = timedelta(seconds=1)


def _paired_dag(folder: Path, *, fail_dagrun: bool = False) -> None:
    write_dag(
        folder,
        "paired",
        f"""
        with DAG('paired', schedule=None, start_date=datetime(2026, 1, 1)) as dag:
            s = EmptyOperator(task_id='s')
            w = EmptyOperator(task_id='w')
            t = EmptyOperator(task_id='t')
            s >> w >> t.as_teardown(setups=s, on_failure_fail_dagrun={fail_dagrun})
        """,
    )


def _drive(
    sessions: sessionmaker[Session],
    scheduler: Scheduler,
    executor: RecordingExecutor,
    outcomes: dict[str, TI],
) -> dict[str, TI]:
    """Tick until nothing is queued; each queued task ends as ``outcomes`` says (success)."""
    done = len(executor.submitted)
    for step in range(10):
        now = START + step * SEC
        scheduler.tick(now)
        for job in executor.submitted[done:]:
            work(sessions, job, outcomes.get(job.task_id, TI.SUCCESS), now)
        if done == len(executor.submitted):
            break
        done = len(executor.submitted)
    return states(sessions, "paired")


@pytest.fixture
def paired_run(
    sessions: sessionmaker[Session], dags_folder: Path, request: pytest.FixtureRequest
) -> None:
    _paired_dag(dags_folder, fail_dagrun=getattr(request, "param", False))
    load(sessions, dags_folder)
    with sessions.begin() as session:
        trigger_dag(session=session, dag_id="paired", run_id="r", now=START)


def _run_state(sessions: sessionmaker[Session]) -> DagRunState:
    return runs(sessions, "paired")[0].state


@pytest.mark.usefixtures("paired_run")
def test_failed_work_still_runs_the_teardown_and_fails_the_run(
    sessions: sessionmaker[Session], make_scheduler: Any, executor: RecordingExecutor
) -> None:
    got = _drive(sessions, make_scheduler(), executor, {"w": TI.FAILED})
    assert got == {"s": TI.SUCCESS, "w": TI.FAILED, "t": TI.SUCCESS}
    assert executor.task_ids == ["s", "w", "t"]
    assert _run_state(sessions) is DagRunState.FAILED


@pytest.mark.parametrize(
    ("paired_run", "expected"),
    [(False, DagRunState.SUCCESS), (True, DagRunState.FAILED)],
    indirect=["paired_run"],
    ids=["teardown-ignored", "on_failure_fail_dagrun"],
)
@pytest.mark.usefixtures("paired_run")
def test_a_failed_teardown_fails_the_run_only_when_asked(
    sessions: sessionmaker[Session],
    make_scheduler: Any,
    executor: RecordingExecutor,
    expected: DagRunState,
) -> None:
    got = _drive(sessions, make_scheduler(), executor, {"t": TI.FAILED})
    assert got == {"s": TI.SUCCESS, "w": TI.SUCCESS, "t": TI.FAILED}
    assert _run_state(sessions) is expected


@pytest.mark.usefixtures("paired_run")
def test_a_skipped_setup_skips_its_work_and_teardown(
    sessions: sessionmaker[Session], make_scheduler: Any, executor: RecordingExecutor
) -> None:
    got = _drive(sessions, make_scheduler(), executor, {"s": TI.SKIPPED})
    assert got == {"s": TI.SKIPPED, "w": TI.SKIPPED, "t": TI.SKIPPED}
    assert executor.task_ids == ["s"]
    assert _run_state(sessions) is DagRunState.SUCCESS


@pytest.mark.usefixtures("paired_run")
def test_clearing_work_clears_its_setup_and_teardown_and_reruns_them(
    sessions: sessionmaker[Session], make_scheduler: Any, executor: RecordingExecutor
) -> None:
    scheduler = make_scheduler()
    _drive(sessions, scheduler, executor, {"w": TI.FAILED})
    with sessions.begin() as session:
        cleared = clear_task_instance(
            session=session, dag_id="paired", run_id="r", task_id="w", downstream=False,
            now=START + 20 * SEC,
        )  # fmt: skip
        assert sorted(ti.task_id for ti in cleared) == ["s", "t", "w"]
    got = _drive(sessions, scheduler, executor, {})
    assert got == {"s": TI.SUCCESS, "w": TI.SUCCESS, "t": TI.SUCCESS}
    assert executor.task_ids == ["s", "w", "t", "s", "w", "t"]
    assert _run_state(sessions) is DagRunState.SUCCESS
