"""Authoring semantics: dependencies, default_args, TaskFlow wiring, the @dag decorator."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine import DAG, BashOperator, EmptyOperator, PythonOperator, chain, dag, task
from engine.authoring.taskflow import XComArg
from engine.authoring.trigger_rules import TriggerRule
from engine.errors import DagDefinitionError

START = datetime(2026, 1, 1)


def test_shift_operators_and_lists_build_the_edges() -> None:
    with DAG("deps") as d:
        a, b, c, e = (EmptyOperator(task_id=t) for t in "abce")
        a >> [b, c]
        e << c
        [b, c] >> EmptyOperator(task_id="z")
    assert d.edges == [("a", "b"), ("a", "c"), ("b", "z"), ("c", "e"), ("c", "z")]
    assert d.roots == ["a"]
    assert sorted(d.leaves) == ["e", "z"]


def test_set_upstream_and_set_downstream() -> None:
    with DAG("deps") as d:
        a, b, c = (EmptyOperator(task_id=t) for t in "abc")
        b.set_upstream(a)
        b.set_downstream([c])
    assert d.edges == [("a", "b"), ("b", "c")]


def test_chain_links_sequences_and_pairs_lists() -> None:
    with DAG("chained") as d:
        t = {name: EmptyOperator(task_id=name) for name in ["s", "a1", "a2", "b1", "b2", "e"]}
        chain(t["s"], [t["a1"], t["a2"]], [t["b1"], t["b2"]], t["e"])
    assert d.edges == [
        ("a1", "b1"), ("a2", "b2"), ("b1", "e"), ("b2", "e"), ("s", "a1"), ("s", "a2"),
    ]  # fmt: skip


def test_chain_refuses_lists_of_different_lengths() -> None:
    with DAG("chained"):
        a, b, c = (EmptyOperator(task_id=t) for t in "abc")
        with pytest.raises(DagDefinitionError, match="different lengths"):
            chain([a, b], [c])


def test_default_args_fill_what_the_task_leaves_out() -> None:
    defaults = {"retries": 3, "retry_delay": 7, "owner": "data", "env": {"A": "1"}}
    with DAG("defaults", default_args=defaults):
        inherited = BashOperator(task_id="inherited", bash_command="true")
        explicit = BashOperator(task_id="explicit", bash_command="true", retries=0, env={})
    assert inherited.retries == 3
    assert inherited.retry_delay == timedelta(seconds=7)
    assert inherited.owner == "data"
    assert inherited.env == {"A": "1"}  # an operator's own argument comes from default_args too
    assert explicit.retries == 0
    assert explicit.env == {}


def test_operator_default_args_override_the_dags() -> None:
    with DAG("defaults", default_args={"retries": 3, "pool": "db"}):
        op = EmptyOperator(task_id="t", default_args={"retries": 5})
    assert (op.retries, op.pool) == (5, "db")


def test_taskflow_wires_dependencies_through_arguments() -> None:
    with DAG("flow") as d:

        @task
        def extract() -> int:
            return 1

        @task
        def combine(a: int, b: int) -> int:
            return a + b

        first, second = extract(), extract()
        result = combine(first, b=second)
    assert isinstance(result, XComArg)
    assert d.task_ids == ["extract", "extract__1", "combine"]
    assert d.edges == [("extract", "combine"), ("extract__1", "combine")]


def test_taskflow_override_and_task_settings() -> None:
    with DAG("flow") as d:

        @task(retries=2, priority="high")
        def work() -> None:
            return None

        work.override(task_id="custom", priority_weight=5)()
    op = d.get_task("custom")
    assert (op.retries, op.priority, op.priority_weight) == (2, "high", 5)


def test_xcomarg_shift_links_the_operator() -> None:
    with DAG("flow") as d:

        @task
        def produce() -> int:
            return 1

        produce() >> EmptyOperator(task_id="after")
    assert d.edges == [("produce", "after")]


def test_dag_decorator_builds_a_dag_with_params_from_the_signature() -> None:
    @dag(schedule="@daily", start_date=START, tags=["t"])
    def pipeline(size: int = 10) -> None:
        """Docstring becomes the description."""

        @task
        def use(n: int) -> int:
            return n

        use(size)

    built = pipeline()
    assert built.dag_id == "pipeline"
    assert built.params["size"].default == 10
    assert built.description == "Docstring becomes the description."
    assert built.task_ids == ["use"]


def test_task_outside_a_dag_joins_the_dag_it_is_linked_to() -> None:
    orphan = EmptyOperator(task_id="orphan")
    with DAG("adopting") as d:
        inside = EmptyOperator(task_id="inside")
    inside >> orphan
    assert orphan.dag is d
    assert d.edges == [("inside", "orphan")]


def test_linking_two_tasks_without_dags_is_an_error() -> None:
    a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
    with pytest.raises(DagDefinitionError, match="neither belongs to a DAG"):
        a >> b


def test_settings_are_recorded_for_validation() -> None:
    with DAG("bad") as d:
        op = PythonOperator(
            task_id="t",
            python_callable=print,
            retries=-1,
            priority="urgent",
            trigger_rule="sometimes",
            pool_slots=0,
        )
    assert op.trigger_rule is TriggerRule.ALL_SUCCESS
    joined = "\n".join(op.problems)
    assert "retries must be a non-negative integer" in joined
    assert "priority must be one of high, default, low" in joined
    assert "unknown trigger_rule 'sometimes'" in joined
    assert "pool_slots must be a positive integer" in joined
    assert d.task_ids == ["t"]


def test_naive_dates_mean_utc_and_zones_drive_the_schedule() -> None:
    from zoneinfo import ZoneInfo

    naive = DAG("naive", schedule="@daily", start_date=START)
    assert naive.start_date is not None
    assert naive.start_date.utcoffset() == timedelta(0)
    zoned = DAG(
        "zoned", schedule="@daily", start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    )
    assert zoned.timezone == "Asia/Tokyo"


def test_custom_operator_reports_the_line_that_created_the_task() -> None:
    class Custom(EmptyOperator):
        def __init__(self, task_id: str, **kwargs: object) -> None:
            super().__init__(task_id, **kwargs)  # type: ignore[arg-type]

    with DAG("custom"):
        created_here = Custom(task_id="c")
    import inspect

    line = inspect.currentframe().f_lineno - 3  # type: ignore[union-attr]
    assert created_here.call_site.file == __file__
    assert created_here.call_site.line == line
