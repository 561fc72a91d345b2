"""Deferrable sensors and deferring tasks under ``loom dags test``: the trigger runs in
this process until its first event, then the task resumes in its method."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import (
    DAG,
    BaseOperator,
    DateTimeSensor,
    DateTimeTrigger,
    FileSensor,
    FileTrigger,
    PythonSensor,
    TaskDeferred,
    TimeDeltaSensor,
    TimeDeltaSensorAsync,
    TimeSensorAsync,
)
from engine.execution.xcoms import RETURN_VALUE
from engine.state import TaskInstanceState as S
from tests.engine.sensors.test_sensors_dagtest import messages, run, states


class Soon(BaseOperator):
    def __init__(self, *, wait: float, timeout: timedelta | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wait, self.deferral_timeout = wait, timeout

    def execute(self, context: Any) -> Any:
        moment = datetime.now(UTC) + timedelta(seconds=self.wait)
        self.defer(trigger=DateTimeTrigger(moment), method_name="done",
                   kwargs={"label": "x"}, timeout=self.deferral_timeout)  # fmt: skip

    def done(self, context: Any, label: str, event: Any = None) -> Any:
        return {"label": label, "fired_at_moment": isinstance(event, datetime)}


def test_dags_test_runs_the_trigger_in_process_then_resumes_the_task() -> None:
    with DAG("d", start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        Soon(task_id="soon", wait=0.05)
    test = run(dag)
    assert states(test) == {"soon": S.SUCCESS}
    stored = test.xcom.get("d", test.run_info.run_id, "soon", RETURN_VALUE)
    assert stored == {"label": "x", "fired_at_moment": True}
    assert test.report.tasks["soon"].tries == 1  # type: ignore[attr-defined]


def test_dags_test_fails_a_deferral_past_its_timeout() -> None:
    with DAG("d", start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        Soon(task_id="late", wait=60, timeout=timedelta(seconds=0.05))
    test = run(dag)
    assert states(test) == {"late": S.FAILED}
    assert test.report.tasks["late"].error.startswith("TaskDeferralTimeout")  # type: ignore[attr-defined]


def test_deferrable_sensors_defer_on_their_trigger() -> None:
    with DAG("d", start_date=datetime(2026, 1, 1, tzinfo=UTC)):
        delta = TimeDeltaSensor(task_id="delta", delta=timedelta(days=3650), deferrable=True)
        files = FileSensor(task_id="f", filepath="/nonexistent/x", deferrable=True, timeout=60)
    end = datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(TaskDeferred) as deferred:
        delta.execute({"data_interval_end": end, "logical_date": end})
    assert isinstance(deferred.value.trigger, DateTimeTrigger)
    assert deferred.value.trigger.moment == end + timedelta(days=3650)
    assert deferred.value.method_name == "execute_complete"
    with pytest.raises(TaskDeferred) as deferred:
        files.execute({})
    assert isinstance(deferred.value.trigger, FileTrigger)
    assert deferred.value.timeout == timedelta(seconds=60)


def test_deferrable_sensors_succeed_under_dags_test(tmp_path: Path) -> None:
    (tmp_path / "ready").write_text("x")
    soon = datetime.now(UTC) + timedelta(seconds=0.1)
    with DAG("d", start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        DateTimeSensor(task_id="moment", target_time=soon, deferrable=True)
        FileSensor(task_id="file", filepath=str(tmp_path / "ready"), deferrable=True)
    assert states(run(dag)) == {"moment": S.SUCCESS, "file": S.SUCCESS}


def test_a_sensor_without_a_trigger_cannot_be_deferrable() -> None:
    with DAG("d") as dag:
        PythonSensor(task_id="p", python_callable=lambda: True, deferrable=True)
    assert messages(dag) == ["task 'p': PythonSensor cannot be deferrable: it has no trigger"]


def test_the_async_sensor_names_always_defer() -> None:
    with DAG("d", start_date=datetime(2026, 1, 1, tzinfo=UTC)):
        delta = TimeDeltaSensorAsync(task_id="delta", delta=timedelta(days=3650))
        clock = TimeSensorAsync(task_id="clock", target_time=time(23, 59), deferrable=False)
    with DAG("past", start_date=datetime(2026, 1, 1, tzinfo=UTC)) as past:
        TimeDeltaSensorAsync(task_id="done", delta=timedelta(days=-1))
    assert (delta.deferrable, clock.deferrable) == (True, True)
    end = datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(TaskDeferred) as deferred:
        delta.execute({"data_interval_end": end, "logical_date": end})
    assert deferred.value.trigger.moment == end + timedelta(days=3650)  # type: ignore[attr-defined]
    assert states(run(past)) == {"done": S.SUCCESS}
