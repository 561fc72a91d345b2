"""Task arguments a worker honours: do_xcom_push, multiple_outputs on a classic operator,
a task's params merged over the DAG's."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.state import TaskInstanceState
from tests.workers.conftest import (
    Sessions,
    attempts,
    create_run,
    holding,
    queue_try,
    ti_id_of,
    xcoms,
)
from workers import RunnerContext, run_task

TI = TaskInstanceState


@pytest.fixture
def dags_folder(dags_folder: Path, sessions: Sessions) -> Path:
    return holding(dags_folder, sessions, "knobs.py")


def _ti(sessions: Sessions, task_id: str) -> int:
    return ti_id_of(sessions, task_id, create_run(sessions, "knobs", f"run_{task_id}"))


def _run(sessions: Sessions, ctx: RunnerContext, task_id: str) -> TI | None:
    ti_id = _ti(sessions, task_id)
    return run_task(ti_id, queue_try(sessions, ti_id), ctx=ctx)


def test_multiple_outputs_push_each_key_and_the_whole(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    assert _run(sessions, ctx, "split") is TI.SUCCESS
    assert xcoms(sessions, "split") == {"return_value": {"a": 1, "b": 2}, "a": 1, "b": 2}


def test_multiple_outputs_of_a_non_dict_fail_the_task(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    ti_id = _ti(sessions, "not_a_dict")
    assert run_task(ti_id, queue_try(sessions, ti_id), ctx=ctx) is TI.FAILED
    [attempt] = attempts(sessions, ti_id)
    assert "must return a dict; it returned int" in (attempt.error_message or "")
    assert xcoms(sessions, "not_a_dict") == {}


def test_do_xcom_push_false_stores_no_return_value(sessions: Sessions, ctx: RunnerContext) -> None:
    assert _run(sessions, ctx, "quiet") is TI.SUCCESS
    assert xcoms(sessions, "quiet") == {}


def test_a_tasks_params_override_the_dags(sessions: Sessions, ctx: RunnerContext) -> None:
    assert _run(sessions, ctx, "params") is TI.SUCCESS
    # default_args' params are the DAG's (size 2); the task's own win over both
    assert xcoms(sessions, "params")["return_value"] == {"colour": "blue", "size": 2}
