"""Fast-follow of a fan-out and a fan-in, and the claim of a task that is gone, on both
databases: the root's worker queues the leaves in one go within ``max_active_tasks``; the
worker that finishes the last leaf queues the join."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.executors.base import TaskJob
from engine.models import Pool, SerializedDag, TaskAttempt, TaskInstance
from engine.state import TaskInstanceState
from tests.support.executors import RecordingExecutor
from tests.workers.conftest import (
    Finish,
    Sessions,
    create_run,
    folder_holding,
    queue_try,
    run_first_try,
    states,
    ti_id_of,
)
from workers import RunnerContext, run_task

TI = TaskInstanceState


dags_folder = folder_holding("chain.py")


def _root_succeeded(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> tuple[int, list[TaskJob]]:
    """A run of ``fan`` whose root's first try succeeded: its pk, and the jobs the root's
    finish queued."""
    run_pk = create_run(sessions, dag_id="fan")
    assert run_first_try(sessions, ctx, "root", run_pk)[0] is TI.SUCCESS
    return run_pk, list(executor.submitted)


def test_fan_out_queues_within_max_active_tasks_and_the_last_leaf_queues_the_join(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    _, first = _root_succeeded(sessions, ctx, executor)

    assert sorted(job.task_id for job in first) == ["leaf0", "leaf1", "leaf2"]
    assert {job.try_number for job in first} == {1}
    assert executor.batches == [3]  # the leaves in one batch: one Redis transaction with RQ
    now = states(sessions)
    assert [now[f"leaf{i}"] for i in range(5)] == [TI.QUEUED] * 3 + [TI.SCHEDULED] * 2
    # The join waits; the slot a leaf frees goes to a leaf still waiting for one, queued
    # by that leaf's fast-follow (not by the scheduler's tick), within max_active_tasks.
    for job in first:
        assert run_task(job.ti_id, job.try_number, ctx=ctx) is TI.SUCCESS
        assert states(sessions)["join"] is TI.NONE
    refills = executor.submitted[len(first) :]
    assert [job.task_id for job in refills] == ["leaf3", "leaf4"]
    assert executor.batches == [3, 1, 1]  # the third leaf found none waiting: no batch
    now = states(sessions)
    assert [now[f"leaf{i}"] for i in range(5)] == [TI.SUCCESS] * 3 + [TI.QUEUED] * 2
    for job in refills:
        assert run_task(job.ti_id, job.try_number, ctx=ctx) is TI.SUCCESS
    [join] = executor.submitted[len(first) + len(refills) :]
    assert join.task_id == "join"
    assert states(sessions)["join"] is TI.QUEUED


def test_a_claimed_task_its_dag_no_longer_has_is_removed_not_run(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    run_pk = create_run(sessions, dag_id="chain")
    ti_id = ti_id_of(sessions, "t0", run_pk)
    try_number = queue_try(sessions, ti_id)
    with sessions.begin() as session:  # the DAG is gone: no graph to run the task on
        session.execute(sa.delete(SerializedDag).where(SerializedDag.dag_id == "chain"))

    assert run_task(ti_id, try_number, ctx=ctx) is None

    assert states(sessions)["t0"] is TI.REMOVED
    with sessions() as session:  # the claim's attempt row was rolled back with it
        assert session.scalars(sa.select(TaskAttempt)).all() == []


def finish_all_but(sessions: Sessions, run_pk: int, *keep: str) -> None:
    """Every ``w…`` task of the run ``success`` but ``keep``, as if they had run."""
    with sessions.begin() as session:
        session.execute(
            sa.update(TaskInstance)
            .where(
                TaskInstance.dag_run_id == run_pk,
                TaskInstance.task_id.like("w%"),
                TaskInstance.task_id.not_in(keep),
            )
            .values(state=TI.SUCCESS, try_number=1)
        )


def test_a_wide_fan_ins_join_waits_for_its_last_upstream(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    run_pk = create_run(sessions, dag_id="wide_fan")
    finish_all_but(sessions, run_pk, "w00", "w01")

    assert run_first_try(sessions, ctx, "w00", run_pk)[0] is TI.SUCCESS
    assert executor.submitted == []  # w01 still runs: the all_success join waits
    assert states(sessions)["join"] is TI.NONE
    assert run_first_try(sessions, ctx, "w01", run_pk)[0] is TI.SUCCESS

    assert [job.task_id for job in executor.submitted] == ["join"]
    assert states(sessions)["join"] is TI.QUEUED


@pytest.mark.parametrize(
    ("dag_id", "finish"),
    [
        pytest.param(
            "wide_fan_one_success",
            Finish("w00", {}, ["join"]),
            id="a_wide_one_success_join_runs_after_the_first_success",
        ),
        pytest.param(
            "wide_branch",
            # The join's other upstream tasks have not run: its skip is the branch's, not a tick's.
            Finish("pick", {"join": TI.SKIPPED}, ["elsewhere"]),
            id="a_branch_skips_the_wide_join_it_did_not_choose_at_once",
        ),
    ],
)
def test_a_wide_join_is_decided_by_the_finish_of_one_upstream_task(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor, dag_id: str, finish: Finish
) -> None:
    finish.check(sessions, ctx, executor, create_run(sessions, dag_id=dag_id))


def test_a_leaf_offers_its_freed_slot_within_the_waiting_instances_pools(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    run_pk, first = _root_succeeded(sessions, ctx, executor)
    with sessions.begin() as session:  # leaf3, first in line, waits on a pool with no slot
        session.add(Pool(name="closed", slots=0))
        session.execute(
            sa.update(TaskInstance)
            .where(TaskInstance.id == ti_id_of(sessions, "leaf3", run_pk))
            .values(pool="closed")
        )

    assert run_task(first[0].ti_id, first[0].try_number, ctx=ctx) is TI.SUCCESS

    assert [job.task_id for job in executor.submitted[len(first) :]] == ["leaf4"]
    now = states(sessions)
    assert (now["leaf3"], now["leaf4"]) == (TI.SCHEDULED, TI.QUEUED)
    assert run_task(first[1].ti_id, first[1].try_number, ctx=ctx) is TI.SUCCESS
    assert states(sessions)["leaf3"] is TI.SCHEDULED  # its pool still has no slot
    assert len(executor.submitted) == len(first) + 1
