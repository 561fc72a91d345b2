"""Tries left running on this host by a dead process are failed at start-up."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.models import TaskInstance
from engine.scheduling.orphans import pid_alive, recover_orphaned_tries
from engine.state import TaskInstanceState
from tests.workers.conftest import T0, Sessions, attempts, load_ti, queued
from workers import RunnerContext
from workers.claim import claim_try

TI = TaskInstanceState


def running(sessions: Sessions, ctx: RunnerContext, task_id: str) -> int:
    """``task_id``'s first try claimed by ``ctx`` (host worker-1, pid 4242), heartbeat at T0."""
    ti_id, try_number = queued(sessions, task_id)
    assert claim_try(ti_id, try_number, ctx=ctx) is not None
    with sessions.begin() as session:
        session.execute(
            sa.update(TaskInstance)
            .where(TaskInstance.id == ti_id)
            .values(start_date=T0 - timedelta(minutes=1), last_heartbeat_at=T0)
        )
    return ti_id


def recover(sessions: Sessions, hostname: str, *, alive: bool) -> list[int]:
    with sessions.begin() as session:
        failed = recover_orphaned_tries(
            session=session, hostname=hostname, now=T0 + timedelta(hours=1), alive=lambda _: alive
        )
        return [ti.id for ti in failed]


def test_a_try_whose_process_is_gone_fails_ended_at_its_last_heartbeat(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id = running(sessions, ctx, "flaky")

    assert recover(sessions, "worker-1", alive=False) == [ti_id]

    ti = load_ti(sessions, ti_id)
    assert ti.state is TI.UP_FOR_RETRY
    assert ti.end_date == T0
    assert ti.duration == 60
    [attempt] = attempts(sessions, ti_id)
    assert (attempt.state, attempt.error_type, attempt.end_date) == ("up_for_retry", "Zombie", T0)
    assert attempt.error_message == (
        "its process 4242 on worker-1 is gone (found when Loom started again there)"
    )


def test_live_processes_and_other_hosts_are_left_alone(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id = running(sessions, ctx, "flaky")

    assert recover(sessions, "worker-1", alive=True) == []
    assert recover(sessions, "worker-2", alive=False) == []

    assert load_ti(sessions, ti_id).state is TI.RUNNING


def test_pid_alive() -> None:
    assert pid_alive(1)
    assert not pid_alive(2**22 + 1)  # above the kernel's largest pid


def test_a_zombie_is_not_alive() -> None:
    """A killed worker's child nobody reaps (an init that does not) runs no task."""
    import os
    import time

    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)  # until it has exited: a zombie, as it is not reaped yet
        assert not pid_alive(pid)
        os.kill(pid, 0)  # it still exists: only its zombie state tells it is gone
    finally:
        os.waitpid(pid, 0)
