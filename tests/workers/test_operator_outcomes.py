"""What a worker's finish does for short circuits, EmptyOperator joins and group branches."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.models import TaskInstance
from tests.support.executors import RecordingExecutor
from tests.workers.conftest import TI, Sessions, holding, run_first_try, the_run
from workers import RunnerContext


@pytest.fixture
def dags_folder(dags_folder: Path, sessions: Sessions) -> Path:
    return holding(dags_folder, sessions, "operators.py")


def _run(sessions: Sessions, ctx: RunnerContext, task_id: str) -> int:
    run_pk = the_run(sessions, "operators")
    assert run_first_try(sessions, ctx, task_id, run_pk)[0] is TI.SUCCESS
    return run_pk


def _states(sessions: Sessions) -> dict[str, TI]:
    with sessions() as session:
        return dict(session.execute(sa.select(TaskInstance.task_id, TaskInstance.state)).all())


def test_a_short_circuit_skips_everything_below_it_in_its_finish(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    _run(sessions, ctx, "gate")

    got = _states(sessions)
    assert (got["a"], got["b"]) == (TI.SKIPPED, TI.SKIPPED)
    assert executor.submitted == []


def test_a_soft_short_circuit_skips_the_direct_tasks_and_rules_decide_the_rest(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    _run(sessions, ctx, "soft")

    got = _states(sessions)
    assert got["c"] is TI.SKIPPED
    # d (all_done) is the scheduler's to decide: the finish queued nothing, so it woke it.
    assert (got["d"], executor.submitted) == (TI.NONE, [])


def test_fast_follow_finishes_empty_joins_and_queues_the_work_below_them(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    _run(sessions, ctx, "work")

    got = _states(sessions)
    assert (got["join"], got["joined"]) == (TI.SUCCESS, TI.SUCCESS)
    assert [job.task_id for job in executor.submitted] == ["after"]


def test_a_branch_to_a_group_queues_the_group_s_roots(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor
) -> None:
    _run(sessions, ctx, "pick")

    assert _states(sessions)["other"] is TI.SKIPPED
    assert [job.task_id for job in executor.submitted] == ["group.first"]
