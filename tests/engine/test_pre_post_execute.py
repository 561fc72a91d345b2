"""``pre_execute=`` and ``post_execute=``: Airflow's (experimental) hooks around execute,
inside the try: what they raise is its outcome; ``post_execute`` sees the result and may
still set ``outlet_events``."""

from __future__ import annotations

from typing import Any

from engine import DAG, AirflowSkipException, Asset, EmptyOperator, PythonOperator, PythonSensor
from engine.authoring.operators.bash import BashDecoratedOperator
from engine.authoring.operators.empty import runs_no_code
from engine.authoring.validation import validate_dag
from engine.execution.assets import outlet_events_of
from engine.execution.dagtest import DagTestRun
from engine.state import TaskInstanceState as S

A = Asset("s3://out/1.txt")


def test_hooks_run_around_execute_inside_the_try() -> None:
    seen: list[Any] = []

    def skip(context: Any) -> None:
        raise AirflowSkipException("not today")

    def after(context: Any, result: Any) -> None:
        context["outlet_events"][A].extra = {"rows": result}
        seen.append(outlet_events_of(context["outlet_events"]).extras)

    with DAG("d") as dag:
        PythonOperator(
            task_id="skipped", python_callable=seen.append, op_args=["ran"], pre_execute=skip
        )
        PythonOperator(
            task_id="counted",
            python_callable=lambda: 3,
            outlets=[A],
            pre_execute=lambda context: seen.append("pre"),
            post_execute=after,
        )
    report = DagTestRun(dag, retry_delay_scale=0, echo=lambda _: None).run()
    assert {tid: r.state for tid, r in report.tasks.items()} == {
        "skipped": S.SKIPPED,
        "counted": S.SUCCESS,
    }
    assert seen == ["pre", {A: {"rows": 3}}]


def test_a_hook_that_is_not_callable_is_a_dag_problem() -> None:
    with DAG("d") as dag:
        PythonOperator(task_id="t", python_callable=print, post_execute="nope")
    assert any("post_execute must be callable" in p.message for p in validate_dag(dag))


def test_an_empty_operator_with_a_hook_runs_on_a_worker() -> None:
    with DAG("d"):
        plain = EmptyOperator(task_id="plain")
        hooked = EmptyOperator(task_id="hooked", post_execute=lambda context, result: None)
    assert runs_no_code(plain)
    assert not runs_no_code(hooked)


def test_a_python_callable_that_is_not_callable_is_a_dag_problem() -> None:
    with DAG("d") as dag:
        PythonOperator(task_id="op", python_callable="nope")  # type: ignore[arg-type]
        PythonSensor(task_id="sensor", python_callable=None)  # type: ignore[arg-type]
        BashDecoratedOperator(task_id="bash", python_callable=3)  # type: ignore[arg-type]
    messages = [p.message for p in validate_dag(dag)]
    for task_id, value in (("op", "'nope'"), ("sensor", "None"), ("bash", "3")):
        expected = f"python_callable must be callable, got {value}"
        assert any(task_id in m and expected in m for m in messages), messages
