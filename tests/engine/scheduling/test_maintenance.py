"""Retries, zombies, run timeouts and reconciliation of vanished jobs."""

from __future__ import annotations

from datetime import timedelta

from engine.models.transitions import set_task_state
from engine.state import DagRunState
from tests.engine.scheduling.conftest import (
    START,
    TI,
    Rig,
    chain_dag,
    ti_of,
)

SEC = timedelta(seconds=1)


def _chain(rig: Rig, **dag: str) -> None:
    chain_dag(rig.dags_folder, "chain", tasks="'a', 'b'", **dag)


def test_a_retry_is_queued_when_due_as_a_new_try(rig: Rig) -> None:
    _chain(rig)
    scheduler = rig.first_tick("chain")
    rig.work(rig.executor.submitted[0], TI.UP_FOR_RETRY, START, next_retry_at=START + 60 * SEC)
    assert scheduler.tick(START + 59 * SEC).retries_promoted == 0
    assert scheduler.tick(START + 60 * SEC).retries_promoted == 1
    retry = rig.executor.submitted[-1]
    assert (retry.task_id, retry.try_number) == ("a", 2)
    assert ti_of(rig.sessions, "chain", "a").state is TI.QUEUED


def test_a_zombie_fails_its_try_and_is_retried(rig: Rig) -> None:
    _chain(rig, default_args="{'retries': 1, 'retry_delay': timedelta(0)}")
    scheduler = rig.first_tick("chain", zombie_threshold="60s")
    rig.work(rig.executor.submitted[0], TI.RUNNING, START)  # claimed, then the worker died
    assert scheduler.tick(START + 60 * SEC).zombies == 0
    assert scheduler.tick(START + 61 * SEC).zombies == 1
    ti = ti_of(rig.sessions, "chain", "a")
    assert ti.state in {TI.UP_FOR_RETRY, TI.QUEUED}
    scheduler.tick(START + 62 * SEC)
    assert rig.executor.submitted[-1].try_number == 2


def test_a_run_past_its_timeout_fails_and_settles_its_tasks(rig: Rig) -> None:
    _chain(rig, dagrun_timeout="timedelta(minutes=5)")
    scheduler = rig.first_tick("chain", zombie_threshold="1h")
    rig.work(rig.executor.submitted[0], TI.RUNNING, START)
    assert scheduler.tick(START + 300 * SEC).runs_timed_out == 0
    assert scheduler.tick(START + 301 * SEC).runs_timed_out == 1
    (run,) = rig.runs("chain")
    assert run.state is DagRunState.FAILED
    assert rig.states("chain") == {"a": TI.RUNNING, "b": TI.SKIPPED}
    with rig.sessions.begin() as session:  # the late finish still works
        assert set_task_state(session=session, ti_id=rig.executor.submitted[0].ti_id,
                              expected=TI.RUNNING, new=TI.SUCCESS, try_number=1)  # fmt: skip


def test_reconcile_resubmits_a_queued_try_whose_job_vanished(rig: Rig) -> None:
    _chain(rig)
    scheduler = rig.first_tick("chain", tick_interval="1s")
    job = rig.executor.submitted[0]
    rig.executor.lost.add(job.job_id)
    assert scheduler.tick(START + 4 * SEC).resubmitted == 0  # within the 5 s grace
    assert scheduler.tick(START + 6 * SEC).resubmitted == 1
    assert rig.executor.submitted[-1] == job  # the same try, not a new one
    assert scheduler.tick(START + 7 * SEC).resubmitted == 0
