"""Setup and teardown: authoring (decorators, marks, scopes), validation, serialization,
and Airflow's run-time rules as ``loom dags test`` applies them."""

from __future__ import annotations

from typing import Any

import pytest

from engine import DAG, EmptyOperator, PythonOperator, setup, task, teardown
from engine.authoring.serialization import SerializedDAG
from engine.authoring.setupteardown_rules import SetupTeardownIndex
from engine.authoring.trigger_rules import TriggerRule
from engine.authoring.validation import validate_dag
from engine.errors import DagDefinitionError
from engine.execution.dagtest import DagTestRun
from engine.state import DagRunState
from engine.state import TaskInstanceState as S


def messages(dag: DAG) -> list[str]:
    return [p.message for p in validate_dag(dag)]


def boom() -> None:
    raise ValueError("boom")


def skip() -> None:
    from engine import AirflowSkipException

    raise AirflowSkipException("nothing to set up")


def run(dag: DAG) -> tuple[DagRunState, dict[str, S]]:
    report = DagTestRun(dag, retry_delay_scale=0, echo=lambda _: None).run()
    return report.state, {tid: r.state for tid, r in report.tasks.items()}


def paired(
    *, work: Any = None, setup_fn: Any = None, teardown_fn: Any = None, fail_dagrun: bool = False
) -> DAG:
    """``s >> w >> t`` with ``t`` the teardown of ``s``."""
    with DAG("paired") as dag:
        s = PythonOperator(task_id="s", python_callable=setup_fn or (lambda: None))
        w = PythonOperator(task_id="w", python_callable=work or (lambda: None))
        t = PythonOperator(task_id="t", python_callable=teardown_fn or (lambda: None))
        s >> w >> t.as_teardown(setups=s, on_failure_fail_dagrun=fail_dagrun)
    return dag


# -- authoring ---------------------------------------------------------------------------------


def test_decorators_mark_taskflow_tasks_and_force_the_teardown_rule() -> None:
    with DAG("deco") as dag:

        @setup
        def create() -> str:
            return "cluster"

        @teardown(on_failure_fail_dagrun=True)
        def delete(name: str) -> None: ...

        @task
        def use(name: str) -> None: ...

        cluster = create()
        use(cluster) >> delete(cluster)
    s, t, w = dag.get_task("create"), dag.get_task("delete"), dag.get_task("use")
    assert (s.is_setup, s.is_teardown) == (True, False)
    assert (t.is_teardown, t.on_failure_fail_dagrun) == (True, True)
    assert t.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert (w.is_setup, w.is_teardown) == (False, False)
    assert messages(dag) == []


def test_as_teardown_marks_setups_links_them_and_overwrites_the_rule() -> None:
    with DAG("marks") as dag:
        s1, s2 = EmptyOperator(task_id="s1"), EmptyOperator(task_id="s2")
        t = EmptyOperator(task_id="t", trigger_rule="all_success")
        assert t.as_teardown(setups=[s1, s2]) is t
    assert (s1.is_setup, s2.is_setup, t.is_teardown) == (True, True, True)
    assert t.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert dag.edges == [("s1", "t"), ("s2", "t")]


def test_xcom_results_take_as_setup_and_as_teardown() -> None:
    with DAG("xcoms") as dag:

        @task
        def make() -> int:
            return 1

        @task
        def drop() -> None: ...

        made = make().as_setup()
        drop().as_teardown(setups=made)
    assert dag.get_task("make").is_setup
    assert dag.get_task("drop").is_teardown
    assert dag.edges == [("make", "drop")]


def test_a_task_cannot_be_both_setup_and_teardown() -> None:
    with DAG("both"):
        s = EmptyOperator(task_id="s").as_setup()
        t = EmptyOperator(task_id="t").as_teardown()
        with pytest.raises(DagDefinitionError, match="'s' as teardown; task is already a setup"):
            s.as_teardown()
        with pytest.raises(DagDefinitionError, match="'t' as setup; task is already a teardown"):
            t.as_setup()


def test_a_teardown_decorator_refuses_a_trigger_rule() -> None:
    with pytest.raises(DagDefinitionError, match="Trigger rule not configurable for teardown"):

        @teardown
        @task(trigger_rule="all_done")
        def cleanup() -> None: ...


def test_validation_reports_setup_teardown_misuse() -> None:
    with DAG("bad") as dag:
        s = EmptyOperator(task_id="s").as_setup()
        s >> EmptyOperator(task_id="after", trigger_rule="all_done")
        EmptyOperator(task_id="plain", on_failure_fail_dagrun=True)
        EmptyOperator(task_id="td", is_teardown=True, trigger_rule="one_success")
    assert messages(dag) == [
        "task 'after' follows setup 's' with trigger rule 'all_done': "
        "Setup tasks must be followed with trigger rule ALL_SUCCESS.",
        "Cannot set task on_failure_fail_dagrun for 'plain' because it is not a teardown task.",
        "task 'td': Trigger rule not configurable for teardown tasks (got 'one_success').",
    ]


def test_an_ordinary_task_is_not_a_context_manager() -> None:
    with (
        DAG("ctx"),
        pytest.raises(DagDefinitionError, match="Only setup/teardown tasks"),
        EmptyOperator(task_id="plain"),
    ):
        pass


def test_a_scope_puts_new_tasks_between_its_setup_and_teardown() -> None:
    with DAG("scoped") as dag:
        s = EmptyOperator(task_id="s")
        t = EmptyOperator(task_id="t")
        with t.as_teardown(setups=s):
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            a >> b
    assert dag.edges == [("a", "b"), ("b", "t"), ("s", "a"), ("s", "t")]


def test_with_setup_rshift_teardown_and_nested_scopes_chain() -> None:
    with DAG("nested") as dag:

        @setup
        def outer_s() -> None: ...

        @teardown
        def outer_t() -> None: ...

        @setup
        def inner_s() -> None: ...

        @teardown
        def inner_t() -> None: ...

        with outer_s() >> outer_t(), inner_s() >> inner_t():
            EmptyOperator(task_id="work")
    assert set(dag.edges) == {
        ("outer_s", "outer_t"), ("inner_s", "inner_t"),
        ("outer_s", "inner_s"), ("inner_t", "outer_t"),
        ("inner_s", "work"), ("work", "inner_t"),
    }  # fmt: skip


def test_with_a_setup_alone_finds_its_teardown_and_add_task_adds_earlier_tasks() -> None:
    with DAG("alone") as dag:
        early = EmptyOperator(task_id="early")
        s = EmptyOperator(task_id="s").as_setup()
        EmptyOperator(task_id="t").as_teardown(setups=s)
        with s as scope:
            scope.add_task(early)
    assert set(dag.edges) == {("s", "t"), ("s", "early"), ("early", "t")}


def test_flags_survive_serialization() -> None:
    dag = paired(fail_dagrun=True)
    tasks = SerializedDAG.from_dict(SerializedDAG.from_dag(dag).to_dict()).tasks
    assert (tasks["s"].is_setup, tasks["t"].is_teardown, tasks["t"].on_failure_fail_dagrun) == (
        True,
        True,
        True,
    )
    assert tasks["t"].trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert (tasks["w"].is_setup, tasks["w"].is_teardown) == (False, False)


# -- run-time rules ----------------------------------------------------------------------------


def test_work_fails_teardown_still_runs_and_the_run_fails() -> None:
    state, tasks = run(paired(work=boom))
    assert tasks == {"s": S.SUCCESS, "w": S.FAILED, "t": S.SUCCESS}
    assert state is DagRunState.FAILED


def test_a_failed_teardown_does_not_fail_the_run_unless_asked() -> None:
    assert run(paired(teardown_fn=boom))[0] is DagRunState.SUCCESS
    assert run(paired(teardown_fn=boom, fail_dagrun=True))[0] is DagRunState.FAILED


def test_a_failing_teardown_that_fails_the_run_replaces_the_work_as_leaf() -> None:
    # Airflow's surprising case: with on_failure_fail_dagrun the teardown is the only leaf.
    assert run(paired(work=boom, fail_dagrun=True))[0] is DagRunState.SUCCESS


def test_skipped_setup_skips_work_and_teardown() -> None:
    state, tasks = run(paired(setup_fn=skip))
    assert tasks == {"s": S.SKIPPED, "w": S.SKIPPED, "t": S.SKIPPED}
    assert state is DagRunState.SUCCESS


def test_failed_setup_fails_work_and_teardown_upstream() -> None:
    state, tasks = run(paired(setup_fn=boom))
    assert tasks == {"s": S.FAILED, "w": S.UPSTREAM_FAILED, "t": S.UPSTREAM_FAILED}
    assert state is DagRunState.FAILED


def test_an_indirect_setup_failure_stops_an_all_done_task_inside_the_scope() -> None:
    with DAG("indirect") as dag:
        s = PythonOperator(task_id="s", python_callable=boom)
        w1 = EmptyOperator(task_id="w1")
        w2 = EmptyOperator(task_id="w2", trigger_rule="all_done")
        t = EmptyOperator(task_id="t")
        s >> w1 >> w2 >> t.as_teardown(setups=s)
    assert run(dag)[1]["w2"] is S.UPSTREAM_FAILED


def test_outcome_leaves_follow_airflow() -> None:
    def leaves(fail_dagrun: bool, extra: bool = False) -> list[str]:
        with DAG("leaves") as dag:
            s, w, t = (EmptyOperator(task_id=x) for x in "swt")
            s >> w >> t.as_teardown(setups=s, on_failure_fail_dagrun=fail_dagrun)
            if extra:
                t >> EmptyOperator(task_id="w2")
        return SetupTeardownIndex(dag.task_dict).outcome_leaves()

    assert leaves(False) == ["w"]
    assert leaves(True) == ["t"]
    assert leaves(True, extra=True) == ["w2"]


def test_clearing_expands_to_relevant_setups_and_their_teardowns() -> None:
    with DAG("clear") as dag:
        s, w1, t, w3 = (EmptyOperator(task_id=x) for x in ("s", "w1", "t", "w3"))
        s >> w1 >> t.as_teardown(setups=s)
        t >> w3
    index = SetupTeardownIndex(dag.task_dict)
    assert index.clear_with(["w1"]) == {"s", "w1", "t"}
    assert index.clear_with(["w3"]) == {"w3"}
    assert index.clear_with(["s"]) == {"s", "t"}
