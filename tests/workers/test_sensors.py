"""Sensors in poke mode on a worker: done, XCom, and a timeout that fails at once or skips."""

from __future__ import annotations

from pathlib import Path

from tests.workers.conftest import (
    TI,
    Sessions,
    attempts,
    folder_holding,
    run_first_try,
    the_run,
    xcoms,
)
from workers import RunnerContext

dags_folder = folder_holding("sensors.py")


def _run(sessions: Sessions, ctx: RunnerContext, task_id: str) -> tuple[TI | None, int]:
    return run_first_try(sessions, ctx, task_id, the_run(sessions, "sensors"))


def test_a_task_sensor_s_poke_return_value_is_its_xcom(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    assert _run(sessions, ctx, "ready")[0] is TI.SUCCESS
    assert xcoms(sessions, "ready")["return_value"] == {"rows": 3}


def test_a_poke_mode_sensor_pokes_within_one_try(
    sessions: Sessions, ctx: RunnerContext, pokes: Path
) -> None:
    state, ti_id = _run(sessions, ctx, "third")
    assert state is TI.SUCCESS
    assert pokes.read_text() == "3"
    assert [a.try_number for a in attempts(sessions, ti_id)] == [1]


def test_a_sensor_timeout_fails_without_retries_and_soft_fail_skips(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    state, ti_id = _run(sessions, ctx, "never")
    assert state is TI.FAILED  # retries=3, but a sensor timeout is final
    assert attempts(sessions, ti_id)[0].error_type == "SensorTimeout"
    assert _run(sessions, ctx, "soft")[0] is TI.SKIPPED
