"""Issue 16's DAG arguments in authoring: dag_display_name, owner_links, doc_md,
fail_fast (and its trigger-rule rule) and max_consecutive_failed_dag_runs are accepted,
checked, serialized and read back; the DAG callbacks' context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine import DAG, EmptyOperator, dag, task
from engine.authoring.serialization import SerializedDAG, serialize_dag
from engine.authoring.validation import validate_dag
from engine.execution.context import RunInfo, build_dag_context
from engine.execution.dagtest import DagTestRun


def messages(d: DAG) -> list[str]:
    return [p.message for p in validate_dag(d)]


def round_trip(d: DAG) -> SerializedDAG:
    data = serialize_dag(d)
    loaded = SerializedDAG.from_dict(data)
    assert loaded.to_dict() == data
    return loaded


def test_the_new_arguments_are_stored_with_the_serialized_dag() -> None:
    with DAG(
        "orders",
        dag_display_name="Orders (nightly)",
        owner_links={"ann": "https://wiki.example/ann", "ops": "mailto:ops@example.com"},
        doc_md="# Orders\nLoads *orders*.",
        fail_fast=True,
        max_consecutive_failed_dag_runs=3,
        default_args={"owner": "ann"},
    ) as d:
        EmptyOperator(task_id="t")
    assert messages(d) == []
    stored = round_trip(d)
    assert stored.display_name == "Orders (nightly)"
    assert stored.owner_links == {
        "ann": "https://wiki.example/ann",
        "ops": "mailto:ops@example.com",
    }
    assert stored.doc_md == "# Orders\nLoads *orders*."
    assert (stored.fail_fast, stored.max_consecutive_failed_dag_runs) == (True, 3)


def test_defaults_and_a_dag_serialized_before_the_arguments_existed() -> None:
    with DAG("plain") as d:
        EmptyOperator(task_id="t")
    data = serialize_dag(d)
    for key in ("dag_display_name", "owner_links", "fail_fast", "max_consecutive_failed_dag_runs"):
        del data[key]
    old = SerializedDAG.from_dict(data)
    assert (old.display_name, old.owner_links, old.fail_fast) == ("plain", {}, False)
    assert old.max_consecutive_failed_dag_runs is None  # the configured default applies


def test_the_dag_decorator_passes_them_on() -> None:
    @dag(dag_display_name="Shown", fail_fast=True)
    def decorated() -> None:
        EmptyOperator(task_id="t")

    built = decorated()
    assert (built.dag_display_name, built.fail_fast) == ("Shown", True)


@pytest.mark.parametrize(
    ("links", "problem"),
    [
        ({"ann": "javascript:alert(1)"}, "the link of owner 'ann' must be an http(s) URL"),
        ({"ann": "https://"}, "the link of owner 'ann' must be an http(s) URL"),
        ({"ann": "mailto:nobody"}, "the link of owner 'ann' must be an http(s) URL"),
        ({"ann": "ftp://example.com"}, "the link of owner 'ann' must be an http(s) URL"),
        ({"ann": 3}, "the link of owner 'ann' must be an http(s) URL"),
        (["https://example.com"], "owner_links must be a dict of owner to link"),
    ],
)
def test_owner_links_must_be_http_or_mailto(links: Any, problem: str) -> None:
    with DAG("d", owner_links=links) as d:
        EmptyOperator(task_id="t")
    [message] = messages(d)
    assert problem in message


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"dag_display_name": "  "}, "dag_display_name must be a non-empty string"),
        ({"dag_display_name": 7}, "dag_display_name must be a non-empty string"),
        ({"fail_fast": "yes"}, "fail_fast must be True or False"),
        ({"max_consecutive_failed_dag_runs": -1}, "max_consecutive_failed_dag_runs must be"),
        ({"max_consecutive_failed_dag_runs": True}, "max_consecutive_failed_dag_runs must be"),
    ],
)
def test_bad_values_are_problems_that_name_the_argument(
    kwargs: dict[str, Any], problem: str
) -> None:
    with DAG("d", **kwargs) as d:
        EmptyOperator(task_id="t")
    [message] = messages(d)
    assert message.startswith(problem)


def test_a_fail_fast_dag_allows_only_the_default_rule_and_teardowns() -> None:
    with DAG("ff", fail_fast=True) as d:
        work = EmptyOperator(task_id="work")
        EmptyOperator(task_id="join", trigger_rule="all_done")
        work >> EmptyOperator(task_id="cleanup").as_teardown()
    problems = validate_dag(d)
    assert [p.message for p in problems] == [
        "task 'join': A 'fail_fast' dag can only have all_success trigger rule (it has all_done)"
    ]
    assert problems[0].line is not None  # the task's own line
    with DAG("calm") as relaxed:
        EmptyOperator(task_id="join", trigger_rule="all_done")
    assert messages(relaxed) == []


def test_the_old_name_fail_stop_says_it_is_fail_fast_now() -> None:
    with DAG("d", fail_stop=True) as d:
        EmptyOperator(task_id="t")
    assert messages(d) == [
        "unknown argument 'fail_stop' to DAG (renamed to fail_fast in Airflow 3)"
    ]


def test_the_dag_callbacks_context_has_the_run_and_the_reason() -> None:
    with DAG("d", params={"region": "eu"}) as d:
        EmptyOperator(task_id="t")
    moment = datetime(2026, 3, 4, tzinfo=UTC)
    run = RunInfo("d", "manual__1", moment, moment, moment, conf={"x": 1})
    context = build_dag_context(dag=d, run=run, params={"region": "eu"}, reason="task_failure")
    assert context["dag"] is d
    assert (context["run_id"], context["dag_run"], context["reason"]) == (
        "manual__1",
        run,
        "task_failure",
    )
    assert context["ds"] == "2026-03-04"
    assert (context["params"], context["conf"]) == ({"region": "eu"}, {"x": 1})
    assert "ti" not in context
    assert "task" not in context


def test_dags_test_gives_dag_callbacks_the_same_context() -> None:
    seen: list[dict[str, Any]] = []
    with DAG("d", on_failure_callback=seen.append) as d:

        @task
        def boom() -> None:
            raise ValueError("no")

        boom()
    DagTestRun(d, echo=lambda _: None).run()
    [context] = seen
    assert context["reason"] == "task_failure"
    assert context["dag_run"].run_id == context["run_id"]
