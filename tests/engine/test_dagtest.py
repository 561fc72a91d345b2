"""``dags test`` semantics: one in-process run honouring rules, branches, retries, XCom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine import (
    DAG,
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    FailTask,
    PythonOperator,
    SkipTask,
    task,
)
from engine.errors import DagValidationError, InvalidInputError
from engine.execution.dagtest import DagTestRun
from engine.state import DagRunState
from engine.state import TaskInstanceState as S


def run(dag: DAG, **kwargs: Any) -> dict[str, S]:
    report = DagTestRun(dag, retry_delay_scale=0, echo=lambda _: None, **kwargs).run()
    return {tid: r.state for tid, r in report.tasks.items()}


def boom() -> None:
    raise ValueError("boom")


def test_xcom_flows_between_taskflow_tasks() -> None:
    seen: list[int] = []
    with DAG("flow") as dag:

        @task
        def two() -> int:
            return 2

        @task
        def square(n: int) -> int:
            return n * n

        @task
        def record(n: int) -> None:
            seen.append(n)

        record(square(two()))
    assert run(dag) == {"two": S.SUCCESS, "square": S.SUCCESS, "record": S.SUCCESS}
    assert seen == [4]


def test_failure_propagates_upstream_failed_and_all_done_still_runs() -> None:
    with DAG("fail") as dag:
        bad = PythonOperator(task_id="bad", python_callable=boom)
        after = EmptyOperator(task_id="after")
        cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
        bad >> after >> cleanup
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert report.state is DagRunState.SUCCESS  # the leaf, cleanup, succeeded
    assert {t: r.state for t, r in report.tasks.items()} == {
        "bad": S.FAILED, "after": S.UPSTREAM_FAILED, "cleanup": S.SUCCESS,
    }  # fmt: skip
    assert report.tasks["bad"].error == "ValueError: boom"


def test_failed_leaf_fails_the_run() -> None:
    with DAG("fail") as dag:
        PythonOperator(task_id="bad", python_callable=boom)
    assert DagTestRun(dag, echo=lambda _: None).run().state is DagRunState.FAILED


def test_retries_until_success_and_delays_are_scaled() -> None:
    attempts: list[int] = []
    slept: list[float] = []

    def flaky(ti: Any) -> str:
        attempts.append(ti.try_number)
        if ti.try_number < 3:
            raise ConnectionError("not yet")
        return "ok"

    with DAG("retry") as dag:
        PythonOperator(task_id="flaky", python_callable=flaky, retries=3, retry_delay=10)
    report = DagTestRun(dag, retry_delay_scale=0.5, echo=lambda _: None, sleep=slept.append).run()
    assert report.state is DagRunState.SUCCESS
    assert attempts == [1, 2, 3]
    assert report.tasks["flaky"].tries == 3
    assert slept == [5.0, 5.0]


def test_retries_run_out() -> None:
    with DAG("retry") as dag:
        PythonOperator(task_id="bad", python_callable=boom, retries=2, retry_delay=0)
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert (report.tasks["bad"].state, report.tasks["bad"].tries) == (S.FAILED, 3)


def test_fail_task_skips_remaining_retries_and_skip_task_skips() -> None:
    def fail_now() -> None:
        raise FailTask("bad credentials")

    def skip_me() -> None:
        raise SkipTask("nothing to do")

    with DAG("signals") as dag:
        PythonOperator(task_id="fail", python_callable=fail_now, retries=5)
        skipped = PythonOperator(task_id="skip", python_callable=skip_me)
        skipped >> EmptyOperator(task_id="downstream")
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert (report.tasks["fail"].state, report.tasks["fail"].tries) == (S.FAILED, 1)
    assert report.tasks["skip"].state is S.SKIPPED
    assert report.tasks["downstream"].state is S.SKIPPED


def test_branch_skips_the_path_not_taken_and_the_join_runs() -> None:
    with DAG("branch") as dag:

        @task.branch
        def choose() -> str:
            return "left"

        left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
        after_right = EmptyOperator(task_id="after_right")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        choose() >> [left, right]
        right >> after_right
        [left, after_right] >> join
    states = run(dag)
    assert states["left"] is S.SUCCESS
    assert states["right"] is S.SKIPPED
    assert states["after_right"] is S.SKIPPED
    assert states["join"] is S.SUCCESS


def test_branch_choosing_a_task_that_is_not_downstream_fails() -> None:
    with DAG("branch") as dag:

        @task.branch
        def choose() -> str:
            return "elsewhere"

        choose() >> EmptyOperator(task_id="next")
    assert run(dag)["choose"] is S.FAILED


def test_non_json_return_value_is_a_clear_task_error() -> None:
    with DAG("xcom") as dag:
        PythonOperator(task_id="obj", python_callable=object)
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert report.tasks["obj"].state is S.FAILED
    assert "return value of task 'obj' (as XCom) cannot be stored: object is not" in str(
        report.tasks["obj"].error
    )


def test_sys_exit_in_a_task_fails_the_task_not_the_runner() -> None:
    def leave() -> None:
        raise SystemExit(3)

    with DAG("exit") as dag:
        PythonOperator(task_id="leave", python_callable=leave)
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert report.tasks["leave"].error == "SystemExit: the task called sys.exit(3)"


def test_execution_timeout_stops_the_task() -> None:
    with DAG("slow") as dag:
        BashOperator(
            task_id="sleep", bash_command="sleep 5", execution_timeout=timedelta(seconds=0.3)
        )
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert report.tasks["sleep"].state is S.FAILED
    assert "TaskTimeout" in str(report.tasks["sleep"].error)
    assert report.tasks["sleep"].duration < 3


def test_bash_exit_codes_fail_or_skip() -> None:
    with DAG("bash") as dag:
        BashOperator(task_id="fails", bash_command="exit 3")
        BashOperator(task_id="skips", bash_command="exit 99")
        BashOperator(task_id="ok", bash_command="echo first; echo last")
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert report.tasks["fails"].error == "BashCommandFailed: command exited with status 3"
    assert report.tasks["skips"].state is S.SKIPPED
    assert report.tasks["ok"].state is S.SUCCESS


def test_callback_errors_never_change_the_state() -> None:
    calls: list[str] = []

    def broken_callback(context: dict[str, Any]) -> None:
        calls.append(context["ti"].task_id)
        raise RuntimeError("callback bug")

    with DAG("callbacks") as dag:
        EmptyOperator(task_id="t", on_success_callback=broken_callback)
        PythonOperator(task_id="f", python_callable=boom, on_failure_callback=[broken_callback])
    states = run(dag)
    assert states == {"t": S.SUCCESS, "f": S.FAILED}
    assert sorted(calls) == ["f", "t"]


def test_execute_callback_runs_before_execute_and_skipped_only_on_a_self_skip() -> None:
    events: list[str] = []

    def record(event: str) -> Any:
        return lambda context: events.append(f"{context['ti'].task_id} {event}")

    def work() -> str:
        events.append("work executes")
        return "left"

    def skip_me() -> None:
        raise SkipTask("not today")

    callbacks = {"on_execute_callback": record("execute"), "on_skipped_callback": record("skipped")}
    with DAG("callback_kinds") as dag:
        branch = BranchPythonOperator(task_id="work", python_callable=work, **callbacks)
        branch >> [
            PythonOperator(task_id="left", python_callable=skip_me, **callbacks),
            EmptyOperator(task_id="right", **callbacks),  # skipped by the branch: no callback
        ]
    states = run(dag)
    assert states == {"work": S.SUCCESS, "left": S.SKIPPED, "right": S.SKIPPED}
    assert events == ["work execute", "work executes", "left execute", "left skipped"]


def test_templates_see_the_logical_date_and_conf() -> None:
    with DAG("tmpl", params={"who": "world"}) as dag:
        BashOperator(
            task_id="echo", bash_command="test '{{ ds }} {{ params.who }}' = '2026-02-03 ops'"
        )
    logical = datetime(2026, 2, 3, tzinfo=UTC)
    assert run(dag, logical_date=logical, conf={"who": "ops"}) == {"echo": S.SUCCESS}


def test_template_error_fails_the_task_with_the_message() -> None:
    with DAG("tmpl") as dag:
        BashOperator(task_id="echo", bash_command="echo {{ nope }}")
    report = DagTestRun(dag, echo=lambda _: None).run()
    assert "'nope' is undefined" in str(report.tasks["echo"].error)


def test_invalid_conf_and_invalid_dag_are_refused_before_running() -> None:
    from engine import Param

    with DAG("conf", params={"n": Param(1, type="integer")}) as dag:
        EmptyOperator(task_id="t")
    with pytest.raises(InvalidInputError, match="param 'n' must be of type integer"):
        DagTestRun(dag, conf={"n": "one"})
    with DAG("cyclic") as cyclic:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        a >> b >> a
    with pytest.raises(DagValidationError, match="dependency cycle"):
        DagTestRun(cyclic)


def test_tasks_ready_together_run_heavier_first_and_the_next_round_waits() -> None:
    """As a scheduler loop: the tasks ready at once run by priority weight (``z_remove``,
    with a task below it, before ``a_create``), and ``check``, made ready by ``z_remove``,
    waits for the next round, so it sees ``a_create``'s marker."""
    markers: set[str] = set()

    def check() -> None:
        if "made" not in markers:
            raise FailTask("the marker was removed after it was made")

    with DAG("rounds", start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        made = PythonOperator(task_id="a_create", python_callable=lambda: markers.add("made"))
        removed = PythonOperator(task_id="z_remove", python_callable=markers.clear)
        removed >> PythonOperator(task_id="check", python_callable=check)
    assert made.priority_weight == 1
    assert run(dag) == {"a_create": S.SUCCESS, "z_remove": S.SUCCESS, "check": S.SUCCESS}
