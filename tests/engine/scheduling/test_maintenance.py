"""Retries, zombies, run timeouts and reconciliation of vanished jobs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.models.transitions import set_task_state
from engine.services.runs import trigger_dag
from engine.state import DagRunState
from tests.engine.scheduling.conftest import START, TI, chain_dag, load, runs, states, ti_of, work
from tests.support.executors import RecordingExecutor

SEC = timedelta(seconds=1)


def _start(sessions: sessionmaker[Session], dags_folder: Path, **dag: str) -> None:
    chain_dag(dags_folder, "chain", tasks="'a', 'b'", **dag)
    load(sessions, dags_folder)
    with sessions.begin() as session:
        trigger_dag(session=session, dag_id="chain", run_id="r", now=START)


def test_a_retry_is_queued_when_due_as_a_new_try(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    _start(sessions, dags_folder)
    scheduler = make_scheduler()
    scheduler.tick(START)
    work(sessions, executor.submitted[0], TI.UP_FOR_RETRY, START, next_retry_at=START + 60 * SEC)
    assert scheduler.tick(START + 59 * SEC).retries_promoted == 0
    assert scheduler.tick(START + 60 * SEC).retries_promoted == 1
    retry = executor.submitted[-1]
    assert (retry.task_id, retry.try_number) == ("a", 2)
    assert ti_of(sessions, "chain", "a").state is TI.QUEUED


def test_a_zombie_fails_its_try_and_is_retried(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    _start(sessions, dags_folder, default_args="{'retries': 1, 'retry_delay': timedelta(0)}")
    scheduler = make_scheduler(zombie_threshold="60s")
    scheduler.tick(START)
    work(sessions, executor.submitted[0], TI.RUNNING, START)  # claimed, then the worker died
    assert scheduler.tick(START + 60 * SEC).zombies == 0
    assert scheduler.tick(START + 61 * SEC).zombies == 1
    ti = ti_of(sessions, "chain", "a")
    assert ti.state in {TI.UP_FOR_RETRY, TI.QUEUED}
    scheduler.tick(START + 62 * SEC)
    assert executor.submitted[-1].try_number == 2


def test_a_run_past_its_timeout_fails_and_settles_its_tasks(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    _start(sessions, dags_folder, dagrun_timeout="timedelta(minutes=5)")
    scheduler = make_scheduler(zombie_threshold="1h")
    scheduler.tick(START)
    work(sessions, executor.submitted[0], TI.RUNNING, START)
    assert scheduler.tick(START + 300 * SEC).runs_timed_out == 0
    assert scheduler.tick(START + 301 * SEC).runs_timed_out == 1
    (run,) = runs(sessions, "chain")
    assert run.state is DagRunState.FAILED
    assert states(sessions, "chain") == {"a": TI.RUNNING, "b": TI.SKIPPED}
    with sessions.begin() as session:  # the late finish still works
        assert set_task_state(session=session, ti_id=executor.submitted[0].ti_id,
                              expected=TI.RUNNING, new=TI.SUCCESS, try_number=1)  # fmt: skip


def test_reconcile_resubmits_a_queued_try_whose_job_vanished(
    sessions: sessionmaker[Session],
    dags_folder: Path,
    make_scheduler: Any,
    executor: RecordingExecutor,
) -> None:
    _start(sessions, dags_folder)
    scheduler = make_scheduler(tick_interval="1s")
    scheduler.tick(START)
    job = executor.submitted[0]
    executor.lost.add(job.job_id)
    assert scheduler.tick(START + 4 * SEC).resubmitted == 0  # within the 5 s grace
    assert scheduler.tick(START + 6 * SEC).resubmitted == 1
    assert executor.submitted[-1] == job  # the same try, not a new one
    assert scheduler.tick(START + 7 * SEC).resubmitted == 0
