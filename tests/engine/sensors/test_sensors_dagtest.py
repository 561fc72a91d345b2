"""Sensors under ``loom dags test``: poke until done, time out (fail or skip), back off,
and the bundled sensors' conditions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import (
    DAG,
    AirflowRescheduleException,
    BaseSensorOperator,
    BashSensor,
    DateTimeSensor,
    DayOfWeekSensor,
    FileSensor,
    PokeReturnValue,
    PythonSensor,
    TimeDeltaSensor,
    TimeSensor,
    WeekDay,
    task,
)
from engine.authoring.validation import validate_dag
from engine.execution.dagtest import DagTestRun
from engine.state import TaskInstanceState as S

FAST: dict[str, Any] = {"poke_interval": 0.01, "timeout": 5}


def run(dag: DAG) -> DagTestRun:
    test = DagTestRun(dag, retry_delay_scale=0, echo=lambda _: None)
    test.report = test.run()  # type: ignore[attr-defined]
    return test


def states(test: DagTestRun) -> dict[str, S]:
    return {tid: r.state for tid, r in test.report.tasks.items()}  # type: ignore[attr-defined]


def messages(dag: DAG) -> list[str]:
    return [p.message for p in validate_dag(dag)]


class CountingSensor(BaseSensorOperator):
    def __init__(self, task_id: str, *, done_after: int, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        self.done_after = done_after
        self.pokes = 0

    def poke(self, context: Any) -> bool:
        self.pokes += 1
        return self.pokes >= self.done_after


def test_poke_mode_pokes_until_done_within_one_try() -> None:
    with DAG("s") as dag:
        CountingSensor("wait", done_after=3, **FAST)
    test = run(dag)
    assert states(test) == {"wait": S.SUCCESS}
    assert test.report.tasks["wait"].tries == 1  # type: ignore[attr-defined]


def test_timeout_fails_without_retrying_and_soft_fail_skips() -> None:
    with DAG("s") as dag:
        CountingSensor("hard", done_after=10**9, poke_interval=0.01, timeout=0.05, retries=2)
        CountingSensor("soft", done_after=10**9, poke_interval=0.01, timeout=0.05, soft_fail=True)
    test = run(dag)
    assert states(test) == {"hard": S.FAILED, "soft": S.SKIPPED}
    hard = test.report.tasks["hard"]  # type: ignore[attr-defined]
    assert hard.tries == 1  # a sensor timeout is final, as AirflowSensorTimeout
    assert hard.error.startswith("SensorTimeout: sensor 'hard' timed out")


def test_poke_return_value_becomes_the_xcom() -> None:
    seen: list[int] = []
    with DAG("s") as dag:

        @task.sensor(poke_interval=0.01, timeout=5)
        def ready() -> PokeReturnValue:
            return PokeReturnValue(is_done=True, xcom_value={"rows": 3})

        @task
        def use(value: dict[str, int]) -> None:
            seen.append(value["rows"])

        use(ready())  # type: ignore[arg-type]
    test = run(dag)
    assert states(test) == {"ready": S.SUCCESS, "use": S.SUCCESS}
    assert seen == [3]


def test_python_sensor_polls_its_callable(tmp_path: Path) -> None:
    calls: list[int] = []

    def third_time(limit: int) -> bool:
        calls.append(1)
        return len(calls) >= limit

    with DAG("s") as dag:
        PythonSensor(task_id="p", python_callable=third_time, op_args=[3], **FAST)
    assert states(run(dag)) == {"p": S.SUCCESS}
    assert len(calls) == 3


def test_exponential_backoff_grows_and_respects_max_wait_and_timeout() -> None:
    sensor = CountingSensor("b", done_after=1, poke_interval=2, timeout=1000,
                            exponential_backoff=True, max_wait=timedelta(seconds=20))  # fmt: skip
    started = datetime(2026, 1, 1, tzinfo=UTC)
    waits = [sensor.next_poke_interval(started, 0, n) for n in range(1, 7)]
    assert [int(w / 2 ** (n + 1)) for n, w in enumerate(waits[:3])] == [1, 1, 1]  # doubling
    assert waits[4] == waits[5] == 20  # max_wait caps it
    assert sensor.next_poke_interval(started, 995, 6) == 5  # never past the timeout
    plain = CountingSensor("p", done_after=1, poke_interval=7)
    assert plain.next_poke_interval(started, 0, 5) == 7


def test_bad_sensor_arguments_are_dag_problems() -> None:
    with DAG("s") as dag:
        CountingSensor("a", done_after=1, mode="sometimes")
        CountingSensor("b", done_after=1, poke_interval=-1)
        CountingSensor("c", done_after=1, timeout="soon")
        FileSensor(task_id="f", filepath="/x", fs_conn_id="my_s3")
        DateTimeSensor(task_id="d", target_time=5)  # type: ignore[arg-type]
    found = "\n".join(messages(dag))
    assert "mode must be one of poke, reschedule, got 'sometimes'" in found
    assert "poke_interval must be a non-negative number of seconds" in found
    assert "timeout must be a non-negative number of seconds or a timedelta, got 'soon'" in found
    assert "fs_conn_id 'my_s3' is not supported" in found
    assert "target_time must be a str or a datetime, got int" in found


def test_file_sensor_waits_for_a_file_or_a_directory_with_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "deep" / "a" / "b").mkdir(parents=True)
    (tmp_path / "deep" / "a" / "b" / "part.csv").write_text("x")
    with DAG("s") as dag:
        FileSensor(task_id="missing", filepath=str(tmp_path / "nope.txt"),
                   poke_interval=0.01, timeout=0.05, soft_fail=True)  # fmt: skip
        FileSensor(task_id="empty_dir", filepath=str(tmp_path / "empty"),
                   poke_interval=0.01, timeout=0.05, soft_fail=True)  # fmt: skip
        FileSensor(task_id="dir", filepath=str(tmp_path / "deep"), **FAST)
        FileSensor(task_id="glob", filepath=str(tmp_path / "**" / "*.csv"), recursive=True, **FAST)
    assert states(run(dag)) == {
        "missing": S.SKIPPED, "empty_dir": S.SKIPPED, "dir": S.SUCCESS, "glob": S.SUCCESS,
    }  # fmt: skip


def test_file_sensor_path_is_templated(tmp_path: Path) -> None:
    (tmp_path / "s.flag").write_text("")
    with DAG("s") as dag:
        FileSensor(task_id="f", filepath=str(tmp_path) + "/{{ dag.dag_id }}.flag", **FAST)
    assert states(run(dag)) == {"f": S.SUCCESS}


def test_bash_sensor_exit_codes() -> None:
    with DAG("s") as dag:
        BashSensor(task_id="ok", bash_command="exit 0", **FAST)
        BashSensor(task_id="waits", bash_command="exit 1", poke_interval=0.01, timeout=0.05,
                   soft_fail=True)  # fmt: skip
        BashSensor(task_id="fails", bash_command="exit 3", retry_exit_code=1, **FAST)
    test = run(dag)
    assert states(test) == {"ok": S.SUCCESS, "waits": S.SKIPPED, "fails": S.FAILED}
    fails = test.report.tasks["fails"]  # type: ignore[attr-defined]
    assert fails.error == "BashSensorFailed: command exited with status 3"


def test_time_sensors() -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    future = datetime.now(UTC) + timedelta(days=2)
    with DAG("s", start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        DateTimeSensor(task_id="past", target_time=past, **FAST)
        DateTimeSensor(task_id="templated", target_time="{{ logical_date.add(days=-1) }}", **FAST)
        DateTimeSensor(task_id="future", target_time=future, poke_interval=0.01, timeout=0.05,
                       soft_fail=True)  # fmt: skip
        TimeDeltaSensor(task_id="delta_past", delta=timedelta(days=-1), **FAST)
        TimeDeltaSensor(task_id="delta_future", delta=timedelta(days=2), poke_interval=0.01,
                        timeout=0.05, soft_fail=True)  # fmt: skip
        TimeSensor(task_id="midnight", target_time=time(0, 0), **FAST)
    assert states(run(dag)) == {
        "past": S.SUCCESS, "templated": S.SUCCESS, "future": S.SKIPPED,
        "delta_past": S.SUCCESS, "delta_future": S.SKIPPED, "midnight": S.SUCCESS,
    }  # fmt: skip


def test_reschedule_mode_pokes_in_one_try_with_a_wait_between_pokes() -> None:
    lines: list[str] = []
    pokes: list[int] = []  # each poke runs a fresh copy of the task: count outside it
    with DAG("s") as dag:
        PythonSensor(
            task_id="r", python_callable=lambda: pokes.append(1) or len(pokes) >= 3,
            mode="reschedule", poke_interval=0.01, timeout=5,
        )  # fmt: skip
    assert messages(dag) == []
    test = DagTestRun(dag, echo=lines.append)
    report = test.run().tasks["r"]
    assert report.state is S.SUCCESS
    assert (report.tries, report.pokes) == (1, 2)  # a reschedule is not a retry
    assert [line.split(" (")[0] for line in lines] == [
        "r: up_for_reschedule", "r: up_for_reschedule", "r: success",
    ]  # fmt: skip


def test_reschedule_timeout_counts_from_the_first_poke() -> None:
    with DAG("s") as dag:
        CountingSensor("r", done_after=10**9, mode="reschedule", poke_interval=0.02,
                       timeout=0.1, retries=3)  # fmt: skip
    report = DagTestRun(dag, echo=lambda _: None).run().tasks["r"]
    assert report.state is S.FAILED
    assert report.tries == 1
    assert report.pokes >= 2
    assert (report.error or "").startswith("SensorTimeout")


def test_day_of_week_sensor_waits_for_the_day_of_the_logical_date_or_today() -> None:
    monday = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
    today = WeekDay(datetime.now(UTC).isoweekday())
    with DAG("s", start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        DayOfWeekSensor(task_id="monday", week_day="Monday", use_task_logical_date=True, **FAST)
        DayOfWeekSensor(task_id="weekend", week_day={WeekDay.SATURDAY, WeekDay.SUNDAY},
                        use_task_logical_date=True, poke_interval=0.01, timeout=0.05,
                        soft_fail=True)  # fmt: skip
        DayOfWeekSensor(task_id="today", week_day=today, **FAST)
    test = DagTestRun(dag, logical_date=monday, retry_delay_scale=0, echo=lambda _: None)
    report = test.run()
    found = {tid: r.state for tid, r in report.tasks.items()}
    assert found == {"monday": S.SUCCESS, "weekend": S.SKIPPED, "today": S.SUCCESS}
    with DAG("bad") as bad:
        DayOfWeekSensor(task_id="t", week_day="Someday")
    assert any("invalid week day 'Someday'" in m for m in messages(bad))


@pytest.mark.parametrize("sensor", [PythonSensor, BashSensor, FileSensor, DayOfWeekSensor])
def test_sensors_are_exported_from_engine(sensor: type) -> None:
    assert issubclass(sensor, BaseSensorOperator)


def test_reschedule_waits_back_off_exponentially_up_to_max_wait() -> None:
    waits: list[float] = []
    pokes: list[int] = []
    with DAG("s") as dag:
        PythonSensor(
            task_id="r", python_callable=lambda: pokes.append(1) or len(pokes) >= 4,
            mode="reschedule", poke_interval=10, exponential_backoff=True, max_wait=25,
            timeout=3600,
        )  # fmt: skip
    report = DagTestRun(dag, echo=lambda _: None, sleep=waits.append).run().tasks["r"]
    assert report.state is S.SUCCESS
    assert len(waits) == 3
    # 10 s doubled per poke, with up to as much again of jitter: [10, 20), [20, 40) → 25, 25.
    assert 9 <= waits[0] < 20 <= waits[1]
    assert max(waits) <= 25


def test_a_naive_reschedule_date_fails_the_task_naming_it() -> None:
    def naive() -> None:
        raise AirflowRescheduleException(datetime(2030, 1, 1))

    with DAG("s") as dag:
        task(naive, retries=2)()
    report = DagTestRun(dag, echo=lambda _: None).run().tasks["naive"]
    assert report.state is S.FAILED
    assert report.tries == 1
    assert "it must be a timezone-aware datetime" in (report.error or "")
