"""Validation of in-memory DAGs and the serialization round trip."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime, timedelta

import pytest

from engine import DAG, BashOperator, EmptyOperator, Param, PythonOperator, task
from engine.authoring.serialization import SerializedDAG, dag_hash, serialize_dag
from engine.authoring.validation import check_dag, topological_order, validate_dag
from engine.errors import DagValidationError

START = datetime(2026, 1, 1)


def messages(dag: DAG) -> list[str]:
    return [p.message for p in validate_dag(dag)]


def test_a_valid_dag_has_no_problems() -> None:
    with DAG("ok", schedule="@daily", start_date=START) as dag:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    assert validate_dag(dag) == []
    check_dag(dag)


def test_a_cycle_is_reported_with_its_path() -> None:
    with DAG("cyclic") as dag:
        a, b, c = (EmptyOperator(task_id=t) for t in "abc")
        a >> b >> c >> a
    [problem] = validate_dag(dag)
    assert problem.message.startswith("dependency cycle: ")
    cycle, _, closed_by = problem.message.removeprefix("dependency cycle: ").partition(" (")
    path = cycle.split(" -> ")
    assert closed_by == "closed by c >> a)"
    assert path[0] == path[-1]
    assert sorted(path[:-1]) == ["a", "b", "c"]
    assert problem.file == __file__
    assert problem.line is not None


def test_self_dependency_is_a_cycle() -> None:
    with DAG("selfish") as dag:
        a = EmptyOperator(task_id="a")
        a >> a
    assert messages(dag) == ["dependency cycle: a -> a (closed by a >> a)"]


def test_a_cycle_is_reported_at_the_call_that_closed_it() -> None:
    with DAG("closing") as dag:
        a, b, c, d = (EmptyOperator(task_id=t) for t in "abcd")
        a >> b >> c
        d.set_upstream(c)
        closing_line = sys._getframe().f_lineno + 1
        c.set_downstream(a)
        c >> d  # set again after the cycle closed: not the closing call
    [problem] = validate_dag(dag)
    assert problem.message == "dependency cycle: a -> b -> c -> a (closed by c >> a)"
    assert (problem.file, problem.line) == (__file__, closing_line)
    assert str(problem).startswith(f"{__file__}:{closing_line}: DAG 'closing': dependency cycle")


def test_a_cycle_closed_by_a_task_id_is_reported_at_that_call() -> None:
    with DAG("by_id") as dag:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        a >> b
        closing_line = sys._getframe().f_lineno + 1
        b.set_downstream("a")
    [problem] = validate_dag(dag)
    assert problem.message == "dependency cycle: a -> b -> a (closed by b >> a)"
    assert problem.line == closing_line


def test_unknown_task_reference_names_the_id_and_line() -> None:
    with DAG("refs") as dag:
        a = EmptyOperator(task_id="a")
        EmptyOperator(task_id="b")
        a.set_downstream("b")
        a.set_downstream("ghost")
    [problem] = validate_dag(dag)
    assert problem.message == "dependency refers to unknown task 'ghost'"
    assert problem.line is not None
    assert dag.edges == [("a", "b")]


def test_duplicate_task_id_points_at_both_definitions() -> None:
    with DAG("dupes") as dag:
        EmptyOperator(task_id="same")
        EmptyOperator(task_id="same")
    [problem] = validate_dag(dag)
    assert "duplicate task id 'same' (first defined at " in problem.message
    assert __file__ in problem.message


def test_dag_level_problems_are_all_reported() -> None:
    dag = DAG("bad id!", schedule="not cron", max_active_runs=0)
    found = "\n".join(messages(dag))
    assert "invalid dag_id 'bad id!'" in found
    assert "invalid schedule 'not cron'" in found
    assert "max_active_runs must be a positive integer" in found
    assert "needs a start_date" in found


def test_ids_with_a_trailing_newline_are_invalid() -> None:
    with DAG("nl_dag\n") as dag:
        EmptyOperator(task_id="nl_task\n")
    found = "\n".join(messages(dag))
    assert "invalid dag_id 'nl_dag\\n'" in found
    assert "invalid task_id 'nl_task\\n'" in found


def test_check_dag_raises_with_every_problem() -> None:
    with DAG("bad", schedule="@daily", start_date=START) as dag:
        EmptyOperator(task_id="t", retries=-2)
        EmptyOperator(task_id="u", priority="urgent")
    with pytest.raises(DagValidationError) as info:
        check_dag(dag)
    assert len(info.value.problems) == 2


def test_links_across_dags_are_a_problem() -> None:
    with DAG("one") as one:
        a = EmptyOperator(task_id="a")
    with DAG("two") as two:
        b = EmptyOperator(task_id="b")
    a >> b
    assert messages(two) == ["task 'b' cannot depend on task 'a' of another DAG 'one'"]
    assert messages(one) == []


def test_topological_order_respects_dependencies() -> None:
    with DAG("order") as dag:
        z, y, x = (EmptyOperator(task_id=t) for t in "zyx")
        z >> y >> x
    assert topological_order(dag) == ["z", "y", "x"]


def test_dag_order_breaks_ties_by_declaration_not_by_id() -> None:
    with DAG("declared") as dag:
        z, a, m, b = (EmptyOperator(task_id=t) for t in "zamb")
        z >> m
        b >> a
    assert topological_order(dag) == ["z", "m", "b", "a"]
    serialized = SerializedDAG.from_dict(serialize_dag(dag))
    assert serialized.order == ("z", "m", "b", "a")


def build_rich_dag() -> DAG:
    with DAG(
        "rich",
        schedule="0 6 * * 1-5",
        start_date=START,
        end_date=datetime(2027, 1, 1),
        catchup=True,
        params={"n": Param(3, type="integer", minimum=1), "label": "x"},
        tags=["a", "b"],
        description="desc",
        max_active_runs=2,
        max_active_tasks=4,
        dagrun_timeout=timedelta(hours=1),
        default_args={"retries": 2, "retry_exponential_backoff": True, "email": "ops@example.com"},
    ) as dag:

        @task(priority="high", pool="db", pool_slots=2)
        def produce() -> int:
            return 1

        bash = BashOperator(
            task_id="bash", bash_command="echo {{ ds }}", env={"A": "b"}, trigger_rule="all_done",
            execution_timeout=timedelta(minutes=5), on_failure_callback=print,
        )  # fmt: skip
        produce() >> bash >> PythonOperator(task_id="py", python_callable=print, op_args=[1])
    return dag


def test_serialization_round_trip_is_lossless() -> None:
    dag = build_rich_dag()
    assert validate_dag(dag) == []
    data = serialize_dag(dag)
    text = json.dumps(data)  # JSON-safe
    restored = SerializedDAG.from_dict(json.loads(text))
    assert restored.to_dict() == data
    assert restored == SerializedDAG.from_dict(data)
    assert dag_hash(restored.to_dict()) == dag_hash(data)


def test_every_field_of_the_serialized_dag_is_written() -> None:
    written = serialize_dag(build_rich_dag()).keys()
    assert {field.name for field in dataclasses.fields(SerializedDAG)} <= written


def test_serialized_dag_carries_settings_the_scheduler_needs() -> None:
    restored = SerializedDAG.from_dict(serialize_dag(build_rich_dag()))
    assert restored.edges == [("bash", "py"), ("produce", "bash")]
    produce, bash = restored.tasks["produce"], restored.tasks["bash"]
    assert (produce.priority, produce.pool, produce.pool_slots, produce.max_tries) == (
        "high",
        "db",
        2,
        3,
    )
    assert bash.trigger_rule == "all_done"
    assert bash.execution_timeout == timedelta(minutes=5)
    assert bash.callbacks == ("on_failure",)
    assert bash.fields["bash_command"] == "echo {{ ds }}"
    assert bash.email == ("ops@example.com",)
    assert restored.params["n"].schema["minimum"] == 1
    assert restored.schedule.summary == "0 6 * * 1-5"
    assert restored.leaves == ["py"]


def test_hash_changes_when_the_dag_changes() -> None:
    first = serialize_dag(build_rich_dag())
    changed = dict(first, max_active_runs=3)
    assert dag_hash(first) != dag_hash(changed)


def test_unrepresentable_fields_serialize_stably() -> None:
    class Thing:
        pass

    def build() -> dict[str, object]:
        with DAG("things") as dag:
            PythonOperator(
                task_id="t", python_callable=print, op_kwargs={"x": Thing(), "y": float("nan")}
            )
        return serialize_dag(dag)

    first, second = build(), build()
    assert dag_hash(first) == dag_hash(second)
    json.dumps(first, allow_nan=False)
