"""Task arguments a worker honours: do_xcom_push, multiple_outputs on a classic operator,
a task's params merged over the DAG's."""

from __future__ import annotations

from engine.state import TaskInstanceState
from tests.workers.conftest import (
    Sessions,
    attempts,
    create_run,
    folder_holding,
    run_first_try,
    xcoms,
)
from workers import RunnerContext

TI = TaskInstanceState


dags_folder = folder_holding("knobs.py")


def _run(sessions: Sessions, ctx: RunnerContext, task_id: str) -> tuple[TI | None, int]:
    return run_first_try(sessions, ctx, task_id, create_run(sessions, "knobs", f"run_{task_id}"))


def test_multiple_outputs_push_each_key_and_the_whole(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    assert _run(sessions, ctx, "split")[0] is TI.SUCCESS
    assert xcoms(sessions, "split") == {"return_value": {"a": 1, "b": 2}, "a": 1, "b": 2}


def test_multiple_outputs_of_a_non_dict_fail_the_task(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    state, ti_id = _run(sessions, ctx, "not_a_dict")
    assert state is TI.FAILED
    [attempt] = attempts(sessions, ti_id)
    assert "must return a dict; it returned int" in (attempt.error_message or "")
    assert xcoms(sessions, "not_a_dict") == {}


def test_do_xcom_push_false_stores_no_return_value(sessions: Sessions, ctx: RunnerContext) -> None:
    assert _run(sessions, ctx, "quiet")[0] is TI.SUCCESS
    assert xcoms(sessions, "quiet") == {}


def test_a_tasks_params_override_the_dags(sessions: Sessions, ctx: RunnerContext) -> None:
    assert _run(sessions, ctx, "params")[0] is TI.SUCCESS
    # default_args' params are the DAG's (size 2); the task's own win over both
    assert xcoms(sessions, "params")["return_value"] == {"colour": "blue", "size": 2}
