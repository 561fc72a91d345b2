"""ShortCircuit, LatestOnly, date and weekday branches, branches to task groups, @task.bash
and @task.run_if / @task.skip_if: authoring, validation and ``dags test`` semantics."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from engine import (
    DAG,
    BranchDateTimeOperator,
    BranchDayOfWeekOperator,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    EmptyOperator,
    LatestOnlyOperator,
    ShortCircuitOperator,
    TaskGroup,
    WeekDay,
    task,
)
from engine.authoring.serialization import SerializedDAG
from engine.authoring.validation import check_dag
from engine.errors import DagValidationError
from engine.execution.context import RunInfo
from engine.execution.dagtest import DagTestRun
from engine.state import TaskInstanceState as S

MONDAY = datetime(2026, 1, 5, 12, tzinfo=UTC)


def run(dag: DAG, **kwargs: Any) -> dict[str, S]:
    report = DagTestRun(dag, retry_delay_scale=0, echo=lambda _: None, **kwargs).run()
    return {tid: r.state for tid, r in report.tasks.items()}


def dag_test(dag: DAG, **kwargs: Any) -> DagTestRun:
    return DagTestRun(dag, retry_delay_scale=0, echo=lambda _: None, **kwargs)


# -- ShortCircuitOperator / @task.short_circuit ------------------------------------------


def _short_circuit_dag(result: Any, *, ignore: bool = True) -> DAG:
    with DAG("sc", schedule=None) as dag:
        gate = ShortCircuitOperator(
            task_id="gate", python_callable=lambda: result, ignore_downstream_trigger_rules=ignore
        )
        direct = EmptyOperator(task_id="direct")
        below = EmptyOperator(task_id="below", trigger_rule="all_done")
        gate >> direct >> below
    return dag


def test_a_falsy_short_circuit_skips_everything_below_whatever_the_rules() -> None:
    assert run(_short_circuit_dag([])) == {
        "gate": S.SUCCESS,
        "direct": S.SKIPPED,
        "below": S.SKIPPED,
    }


def test_without_ignoring_rules_only_the_direct_tasks_are_skipped() -> None:
    got = run(_short_circuit_dag(0, ignore=False))
    assert got == {"gate": S.SUCCESS, "direct": S.SKIPPED, "below": S.SUCCESS}


def test_a_truthy_short_circuit_lets_everything_run_and_keeps_its_xcom() -> None:
    dag = _short_circuit_dag({"rows": 3})
    test = dag_test(dag)
    assert {test.run().tasks[t].state for t in ("direct", "below")} == {S.SUCCESS}
    assert test.xcom.get("sc", test.run_info.run_id, "gate", "return_value") == {"rows": 3}


def test_the_decorator_short_circuits_and_teardowns_still_run() -> None:
    with DAG("scd", schedule=None) as dag:

        @task.short_circuit(ignore_downstream_trigger_rules=True)
        def check(n: int) -> bool:
            return n > 1

        @task
        def work() -> None: ...

        @task
        def cleanup() -> None: ...

        worked = work()
        check(1) >> worked >> cleanup().as_teardown()
    got = run(dag)
    assert got == {"check": S.SUCCESS, "work": S.SKIPPED, "cleanup": S.SUCCESS}


# -- LatestOnlyOperator -------------------------------------------------------------------


def _latest(schedule: Any = None, *, end_date: datetime | None = None) -> LatestOnlyOperator:
    schedule = schedule or CronDataIntervalTimetable("@daily")
    with DAG("lo", schedule=schedule, start_date=datetime(2026, 1, 1), end_date=end_date):
        latest = LatestOnlyOperator(task_id="latest")
        latest >> EmptyOperator(task_id="after")
    return latest


def _choice(latest: LatestOnlyOperator, start: datetime, run_type: str = "scheduled") -> Any:
    # The daily interval that starts at ``start`` (the schedules here are all @daily).
    info = RunInfo("lo", "r", start, start, start + timedelta(days=1), run_type=run_type)
    return latest.execute({"dag_run": info})


def test_latest_only_lets_the_latest_scheduled_interval_run_and_skips_older_ones() -> None:
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    latest = _latest()
    assert _choice(latest, today - timedelta(days=1)) == ["after"]  # ended at midnight: latest
    assert _choice(latest, today - timedelta(days=3)) == []
    assert _choice(latest, today - timedelta(days=3), run_type="backfill") == []


def test_latest_only_with_a_trigger_timetable_lets_the_latest_tick_run() -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    latest = _latest("@daily")  # Airflow 3: a run at each midnight, no interval
    assert latest.dag is not None
    assert isinstance(latest.dag.schedule, CronTriggerTimetable)

    def choice(tick: datetime) -> Any:
        run = RunInfo("lo", "r", tick, tick, tick, run_type="scheduled")
        return latest.execute({"dag_run": run})

    assert choice(today) == ["after"]
    assert choice(today - timedelta(days=1)) == []


def test_latest_only_never_skips_in_a_manual_run_or_without_a_next_interval() -> None:
    old = datetime(2026, 1, 2, tzinfo=UTC)
    assert _choice(_latest(), old, run_type="manual") == ["after"]
    assert _choice(_latest(), old, run_type="test") == ["after"]
    assert _choice(_latest("@once"), old) == ["after"]
    assert _choice(_latest(end_date=datetime(2026, 1, 2)), old) == ["after"]


# -- BranchDateTimeOperator ----------------------------------------------------------------


def _datetime_branch(lower: Any, upper: Any, **kwargs: Any) -> BranchDateTimeOperator:
    with DAG("dt", schedule=None):
        return BranchDateTimeOperator(
            task_id="dt", target_lower=lower, target_upper=upper,
            follow_task_ids_if_true="inside", follow_task_ids_if_false=["outside"], **kwargs,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("lower", "upper", "inside"),
    [
        (time(10), time(14), True),
        (time(12), time(14), True),  # bounds are inclusive
        (time(13), time(14), False),
        (time(11), time(1), True),  # across midnight: upper is the next day
        (None, time(11), False),
        (time(11), None, True),
        (datetime(2026, 1, 5, 11, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC), True),
        (datetime(2026, 1, 4), datetime(2026, 1, 5, 11), False),  # naive: the DAG's zone
    ],
)
def test_the_date_time_branch_compares_the_logical_date_with_its_bounds(
    lower: Any, upper: Any, inside: bool
) -> None:
    branch = _datetime_branch(lower, upper, use_task_logical_date=True)
    expected = ["inside"] if inside else ["outside"]
    assert branch.execute({"logical_date": MONDAY}) == expected


def test_without_the_logical_date_the_branch_uses_the_time_now() -> None:
    branch = _datetime_branch(time(0), time(23, 59, 59, 999999))
    assert branch.execute({"logical_date": datetime(2000, 1, 1, tzinfo=UTC)}) == ["inside"]


def test_a_date_time_branch_without_bounds_is_a_problem_named_at_parse_time() -> None:
    with DAG("dt", schedule=None) as dag:
        BranchDateTimeOperator(
            task_id="dt", target_lower=None, target_upper=None,
            follow_task_ids_if_true="a", follow_task_ids_if_false="b",
        )  # fmt: skip
    with pytest.raises(DagValidationError, match="target_lower and target_upper are both None"):
        check_dag(dag)


# -- BranchDayOfWeekOperator and WeekDay -------------------------------------------------


def test_week_days_convert_from_names_members_and_sets() -> None:
    assert WeekDay.get_weekday_number("monday") == WeekDay.MONDAY == 1
    assert WeekDay.validate_week_day("Sunday") == {7}
    assert WeekDay.validate_week_day({WeekDay.SATURDAY, "sunday"}) == {6, 7}
    with pytest.raises(ValueError, match="'Someday'"):
        WeekDay.get_weekday_number("Someday")


@pytest.mark.parametrize(
    ("week_day", "chosen"),
    [("Monday", "yes"), (WeekDay.TUESDAY, "no"), ({WeekDay.SATURDAY, WeekDay.MONDAY}, "yes")],
)
def test_the_weekday_branch_follows_the_logical_date(week_day: Any, chosen: str) -> None:
    with DAG("wd", schedule=None):
        branch = BranchDayOfWeekOperator(
            task_id="wd", week_day=week_day, use_task_logical_date=True,
            follow_task_ids_if_true="yes", follow_task_ids_if_false="no",
        )  # fmt: skip
    assert branch.execute({"logical_date": MONDAY}) == [chosen]


def test_a_weekday_branch_reads_the_day_in_the_dag_s_time_zone() -> None:
    import pendulum

    start = pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo")
    with DAG("wdz", schedule="@daily", start_date=start):
        branch = BranchDayOfWeekOperator(
            task_id="wd", week_day="Tuesday", use_task_logical_date=True,
            follow_task_ids_if_true="yes", follow_task_ids_if_false="no",
        )  # fmt: skip
    # Monday 20:00 UTC is Tuesday 05:00 in Tokyo.
    assert branch.execute({"logical_date": MONDAY + timedelta(hours=8)}) == ["yes"]


def test_an_unknown_week_day_is_a_problem_named_at_parse_time() -> None:
    with DAG("wd", schedule=None) as dag:
        BranchDayOfWeekOperator(
            task_id="wd", week_day="Funday", follow_task_ids_if_true="a",
            follow_task_ids_if_false="b",
        )  # fmt: skip
    with pytest.raises(DagValidationError, match="invalid week day 'Funday'"):
        check_dag(dag)


def test_date_branches_run_end_to_end_and_skip_the_other_path() -> None:
    with DAG("both", schedule=None) as dag:
        day = BranchDayOfWeekOperator(
            task_id="day", week_day="Monday", use_task_logical_date=True,
            follow_task_ids_if_true="monday", follow_task_ids_if_false="other_day",
        )  # fmt: skip
        day >> [EmptyOperator(task_id="monday"), EmptyOperator(task_id="other_day")]
    got = run(dag, logical_date=MONDAY)
    assert (got["monday"], got["other_day"]) == (S.SUCCESS, S.SKIPPED)


# -- branches to task groups, and to nothing -----------------------------------------------


def _group_branch(choice: Any) -> DAG:
    with DAG("grp", schedule=None) as dag:

        @task.branch
        def pick() -> Any:
            return choice

        with TaskGroup("loaders") as loaders:
            EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
        pick() >> [loaders, EmptyOperator(task_id="other")]
    return dag


def test_a_branch_may_choose_a_task_group_which_follows_its_root_tasks() -> None:
    got = run(_group_branch("loaders"))
    assert got["loaders.first"] is S.SUCCESS
    assert got["loaders.second"] is S.SUCCESS
    assert got["other"] is S.SKIPPED


@pytest.mark.parametrize("choice", [None, []])
def test_a_branch_choosing_nothing_skips_every_direct_downstream_task(choice: Any) -> None:
    got = run(_group_branch(choice))
    assert {got["loaders.first"], got["loaders.second"], got["other"]} == {S.SKIPPED}


# -- @task.bash ------------------------------------------------------------------------------


def test_a_bash_task_runs_the_command_its_function_returns(tmp_path: Any) -> None:
    with DAG("bash", schedule=None) as dag:

        @task.bash(env={"GREETING": "hello"}, cwd=str(tmp_path))
        def greet(name: str) -> str:
            return 'echo "$GREETING ' + name + ' {{ ds }}" && pwd'

        greet("ada")
    test = dag_test(dag, logical_date=MONDAY)
    assert test.run().tasks["greet"].state is S.SUCCESS
    assert test.xcom.get("bash", test.run_info.run_id, "greet", "return_value") == str(tmp_path)


def test_a_bash_tasks_command_is_rendered_with_its_dags_macros_and_filters() -> None:
    with DAG(
        "bash",
        schedule=None,
        user_defined_macros={"team": "data"},
        user_defined_filters={"shout": str.upper},
    ) as dag:

        @task.bash
        def say() -> str:
            return "echo {{ team | shout }}"

        say()
    test = dag_test(dag, logical_date=MONDAY)
    assert test.run().tasks["say"].state is S.SUCCESS
    assert test.xcom.get("bash", test.run_info.run_id, "say", "return_value") == "DATA"


@pytest.mark.parametrize(("command", "state"), [("exit 99", S.SKIPPED), ("exit 3", S.FAILED)])
def test_a_bash_task_skips_on_its_exit_code_and_fails_on_others(command: str, state: S) -> None:
    with DAG("bash", schedule=None) as dag:

        @task.bash
        def run_it() -> str:
            return command

        run_it()
    assert run(dag)["run_it"] is state


@pytest.mark.parametrize("returned", ["", "   ", None, 3])
def test_a_bash_task_whose_function_returns_no_command_fails(returned: Any) -> None:
    with DAG("bash", schedule=None) as dag:

        @task.bash
        def nothing() -> Any:
            return returned

        nothing()
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert report.tasks["nothing"].state is S.FAILED
    assert "must return a non-empty string" in (report.tasks["nothing"].error or "")


# -- @task.run_if / @task.skip_if ----------------------------------------------------------


def test_conditions_decide_at_run_time_with_the_context() -> None:
    seen: list[str] = []
    with DAG("cond", schedule=None) as dag:

        @task.run_if(lambda context: context["params"]["go"])
        @task
        def runs_if_go() -> None:
            seen.append("runs_if_go")

        @task.skip_if(lambda context: (True, "not today"))
        @task
        def skipped() -> None:
            seen.append("skipped")

        @task.skip_if(lambda context: False)
        @task.bash
        def echo() -> str:
            return "echo ran"

        runs_if_go()
        skipped()
        echo()
    report = DagTestRun(dag, conf={"go": True}, echo=lambda _: None)
    report.params["go"] = True
    got = report.run().tasks
    assert got["runs_if_go"].state is S.SUCCESS
    assert got["skipped"].state is S.SKIPPED
    assert got["echo"].state is S.SUCCESS
    assert seen == ["runs_if_go"]


def test_a_run_if_that_is_false_skips_with_its_message() -> None:
    lines: list[str] = []
    with DAG("cond", schedule=None) as dag:

        @task.run_if(lambda context: False, skip_message="only on Mondays")
        @task
        def work() -> None:
            raise AssertionError("must not run")

        work()
    DagTestRun(dag, echo=lines.append).run()
    assert "work: skipped (only on Mondays)" in lines


def test_run_if_on_something_that_is_not_a_task_function_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="put @task"):

        @task.run_if(lambda context: True)
        def plain() -> None: ...


# -- EmptyOperator in the serialized DAG ---------------------------------------------------


def test_only_an_empty_operator_that_runs_no_code_is_marked_empty() -> None:
    class Custom(EmptyOperator):
        def execute(self, context: Any) -> None:
            print("code")

    with DAG("empty", schedule=None) as dag:
        EmptyOperator(task_id="plain")
        Custom(task_id="custom")
    serialized = SerializedDAG.from_dag(dag)
    assert serialized.tasks["plain"].is_empty
    assert not serialized.tasks["custom"].is_empty
    again = SerializedDAG.from_dict(serialized.to_dict())
    assert again.tasks["plain"].is_empty
    assert not again.tasks["custom"].is_empty
    assert "is_empty" not in serialized.tasks["custom"].to_dict()
