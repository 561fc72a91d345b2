"""What a worker's finish does for short circuits, EmptyOperator joins and group branches."""

from __future__ import annotations

import pytest

from tests.support.executors import RecordingExecutor
from tests.workers.conftest import TI, Finish, Sessions, folder_holding, the_run
from workers import RunnerContext

dags_folder = folder_holding("operators.py")


@pytest.mark.parametrize(
    "finish",
    [
        pytest.param(
            Finish("gate", {"a": TI.SKIPPED, "b": TI.SKIPPED}, []),
            id="a_short_circuit_skips_everything_below_it_in_its_finish",
        ),
        pytest.param(
            # d (all_done) is the scheduler's to decide: the finish queued nothing, so it woke it.
            Finish("soft", {"c": TI.SKIPPED, "d": TI.NONE}, []),
            id="a_soft_short_circuit_skips_the_direct_tasks_and_rules_decide_the_rest",
        ),
        pytest.param(
            Finish("work", {"join": TI.SUCCESS, "joined": TI.SUCCESS}, ["after"]),
            id="fast_follow_finishes_empty_joins_and_queues_the_work_below_them",
        ),
        pytest.param(
            Finish("pick", {"other": TI.SKIPPED}, ["group.first"]),
            id="a_branch_to_a_group_queues_the_group_s_roots",
        ),
    ],
)
def test_a_finish(
    sessions: Sessions, ctx: RunnerContext, executor: RecordingExecutor, finish: Finish
) -> None:
    finish.check(sessions, ctx, executor, the_run(sessions, "operators"))
