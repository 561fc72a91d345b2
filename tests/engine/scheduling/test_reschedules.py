"""Rescheduled sensors in the tick: the slot is free between pokes, and a due poke is
queued again within the limits, at the same try."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.models import TaskInstance
from engine.scheduling import promote_reschedules
from tests.engine.scheduling.conftest import START, TI, Rig, chain_dag, ti_of

SEC = timedelta(seconds=1)


def _two_tasks_one_slot(rig: Rig) -> None:
    rig.manual_dag(
        "pair",
        """
        dag.max_active_tasks = 1
        EmptyOperator(task_id="sensor")
        EmptyOperator(task_id="other")
        """,
    )


def test_a_rescheduled_task_frees_its_slot_and_its_due_poke_continues_the_try(rig: Rig) -> None:
    _two_tasks_one_slot(rig)
    scheduler = rig.first_tick("pair")
    [first] = rig.executor.submitted  # max_active_tasks=1: one of the two
    waiting_task = "other" if first.task_id == "sensor" else "sensor"
    rig.work(
        first, TI.UP_FOR_RESCHEDULE, START,
        next_poke_at=START + 60 * SEC, first_poke_at=START, poke_count=1,
    )  # fmt: skip

    report = scheduler.tick(START + SEC)  # the slot is free: the other task is queued
    assert report.reschedules_promoted == 0
    assert [job.task_id for job in rig.executor.submitted[1:]] == [waiting_task]
    rig.work(rig.executor.submitted[-1], TI.SUCCESS, START + SEC)

    assert scheduler.tick(START + 59 * SEC).reschedules_promoted == 0
    assert scheduler.tick(START + 60 * SEC).reschedules_promoted == 1
    poke = rig.executor.submitted[-1]
    assert (poke.task_id, poke.try_number, poke.job_id) == (first.task_id, 1, first.job_id)
    ti = ti_of(rig.sessions, "pair", first.task_id)
    assert (ti.state, ti.try_number, ti.next_poke_at) == (TI.QUEUED, 1, None)
    assert (ti.first_poke_at, ti.poke_count) == (START, 1)  # kept for the sensor's timeout


def test_a_poke_is_promoted_once_and_only_when_due(rig: Rig) -> None:
    _two_tasks_one_slot(rig)
    rig.first_tick("pair")
    [first] = rig.executor.submitted
    rig.work(first, TI.UP_FOR_RESCHEDULE, START, next_poke_at=START + 60 * SEC)
    with rig.sessions.begin() as session:
        assert promote_reschedules(session=session, now=START + 59 * SEC) == []
    with rig.sessions.begin() as session:
        [promoted] = promote_reschedules(session=session, now=START + 60 * SEC)
        assert promoted.id == first.ti_id
    with rig.sessions.begin() as session:  # a second scheduler finds nothing left to move
        assert promote_reschedules(session=session, now=START + 61 * SEC) == []
        state = session.scalar(sa.select(TaskInstance.state).filter_by(id=first.ti_id))
    assert state is TI.SCHEDULED


def test_a_run_past_its_timeout_fails_a_sensor_waiting_for_its_poke(rig: Rig) -> None:
    chain_dag(rig.dags_folder, "chain", tasks="'a', 'b'", dagrun_timeout="timedelta(minutes=5)")
    scheduler = rig.first_tick("chain")
    rig.work(rig.executor.submitted[0], TI.UP_FOR_RESCHEDULE, START, next_poke_at=START + 600 * SEC)
    assert scheduler.tick(START + 301 * SEC).runs_timed_out == 1
    assert rig.states("chain") == {"a": TI.FAILED, "b": TI.SKIPPED}
