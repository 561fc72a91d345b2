"""A DAG file that hangs on import in the worker fails the try within a time limit."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from engine.state import TaskInstanceState
from tests.workers.conftest import Sessions, attempts, create_run, refresh, run_first_try
from workers import RunnerContext

TI = TaskInstanceState

HANGS = """
import time
from datetime import datetime, timedelta
from pathlib import Path

from engine import DAG, PythonOperator

if Path({marker!r}).exists():  # the worker's import hangs, the parser's did not
    time.sleep(3600)

with DAG("hangs", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(
        task_id="limited", python_callable=lambda: 1, retries=1,
        execution_timeout=timedelta(seconds=0.5),
    )
    PythonOperator(task_id="unlimited", python_callable=lambda: 1, retries=1)
"""


@pytest.fixture
def hanging(sessions: Sessions, dags_folder: Path, tmp_path: Path) -> int:
    """The pk of a run of a DAG whose file hangs when imported from now on."""
    marker = tmp_path / "hang"
    (dags_folder / "hangs.py").write_text(HANGS.format(marker=str(marker)))
    refresh(sessions, dags_folder)
    marker.touch()
    return create_run(sessions, dag_id="hangs")


@pytest.mark.parametrize(
    ("task_id", "limit"),
    [
        ("limited", "0:00:00.500000 (the task's execution_timeout)"),
        ("unlimited", "0:00:00.500000 (core.parse_timeout)"),
    ],
)
def test_a_hanging_import_fails_the_try_as_timed_out(
    sessions: Sessions, ctx: RunnerContext, hanging: int, task_id: str, limit: str
) -> None:
    ctx = replace(ctx, settings=replace(ctx.settings, parse_timeout=timedelta(seconds=0.5)))

    state, ti_id = run_first_try(sessions, ctx, task_id, hanging)

    assert state is TI.UP_FOR_RETRY
    [attempt] = attempts(sessions, ti_id)
    assert attempt.error_type == "TaskTimeout"
    assert attempt.error_message is not None
    assert attempt.error_message.endswith(f"hangs.py took longer than {limit}")
