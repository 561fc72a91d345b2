"""``ti.xcom_push`` / ``ti.xcom_pull`` with Airflow 3's shapes, and ``get_current_context``,
in a whole in-process run (``dags test``) and against a store directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from engine import DAG, PythonOperator, get_current_context, task
from engine.authoring.currentcontext import NoTaskContextError
from engine.execution.context import TaskInstanceHandle
from engine.execution.dagtest import DagTestRun
from engine.execution.xcoms import MemoryXComStore
from engine.state import DagRunState


@dataclass(frozen=True)
class Batch:
    name: str
    day: date


def handle(store: MemoryXComStore, task_id: str = "me", **kwargs: Any) -> TaskInstanceHandle:
    return TaskInstanceHandle("d", "r1", task_id, 1, 1, store, **kwargs)


def test_single_task_id_gives_the_value_a_list_gives_a_list_default_key_return_value() -> None:
    store = MemoryXComStore()
    handle(store, "a").xcom_push("return_value", {"n": 1})
    handle(store, "a").xcom_push("extra", [1, 2])
    handle(store, "b").xcom_push("return_value", 2)
    me = handle(store)
    assert me.xcom_pull(task_ids="a") == {"n": 1}
    assert me.xcom_pull("a", key="extra") == [1, 2]
    assert me.xcom_pull(task_ids=["a", "b", "missing"]) == [{"n": 1}, 2, None]
    assert me.xcom_pull(task_ids="missing", default="none yet") == "none yet"
    assert me.xcom_pull() is None  # its own task's value by default: none pushed


def test_a_mapped_task_gives_a_lazy_sequence_or_the_instances_asked_for() -> None:
    store = MemoryXComStore()
    for i in range(3):
        handle(store, "m", map_index=i).xcom_push("return_value", (i, i * 10))
    me = handle(store, mapped_task_ids=frozenset({"m"}))
    everything = me.xcom_pull(task_ids="m")
    assert len(everything) == 3
    assert list(everything) == [(0, 0), (1, 10), (2, 20)]
    assert everything[1] == (1, 10)
    assert me.xcom_pull(task_ids="m", map_indexes=2) == (2, 20)
    assert me.xcom_pull(task_ids="m", map_indexes=[0, 2, 7]) == [(0, 0), (2, 20), None]
    assert me.xcom_pull(task_ids=["m"], map_indexes=1) == [(1, 10)]


def test_a_list_of_task_ids_spreads_a_mapped_tasks_values_into_it() -> None:
    store = MemoryXComStore()
    handle(store, "plain").xcom_push("return_value", "p")
    for i in range(2):
        handle(store, "m", map_index=i).xcom_push("return_value", i)
    me = handle(store, mapped_task_ids=frozenset({"m"}))
    assert me.xcom_pull(task_ids=["plain", "m"]) == ["p", 0, 1]


def test_include_prior_dates_reads_the_current_run_first_in_memory() -> None:
    store = MemoryXComStore()
    handle(store, "a").xcom_push("k", 5)
    assert handle(store).xcom_pull("a", key="k", include_prior_dates=True) == 5
    assert handle(store).xcom_pull("a", key="other", include_prior_dates=True) is None


def test_push_refuses_what_no_xcom_can_hold_naming_key_and_task() -> None:
    with pytest.raises(TypeError, match=r"XCom 'k' of task 'me' cannot be stored: object"):
        handle(MemoryXComStore()).xcom_push("k", object())


def test_values_of_common_types_travel_between_tasks_as_their_type() -> None:
    seen: dict[str, Any] = {}

    with DAG("types", start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:

        @task
        def make() -> Any:
            ti = get_current_context()["ti"]
            ti.xcom_push(key="when", value=datetime(2026, 1, 5, 6, tzinfo=UTC))
            ti.xcom_push(key="batch", value=Batch("b1", date(2026, 1, 5)))
            return ({1, 2}, ("x", 1))

        @task
        def use(pair: Any) -> None:
            ti = get_current_context()["ti"]
            seen["pair"] = pair
            seen["when"] = ti.xcom_pull(task_ids="make", key="when")
            seen["batch"] = ti.xcom_pull(task_ids="make", key="batch")

        use(make())

    assert DagTestRun(dag, echo=lambda _: None).run().state is DagRunState.SUCCESS
    assert seen == {
        "pair": ({1, 2}, ("x", 1)),
        "when": datetime(2026, 1, 5, 6, tzinfo=UTC),
        "batch": Batch("b1", date(2026, 1, 5)),
    }


def test_get_current_context_in_a_classic_operator_and_outside_a_task() -> None:
    got: list[str] = []

    def work() -> None:
        context = get_current_context()
        got.append(f"{context['ti'].task_id} {context['ds']}")

    with DAG("ctx") as dag:
        PythonOperator(task_id="work", python_callable=work)
    report = DagTestRun(dag, logical_date=datetime(2026, 2, 3, tzinfo=UTC), echo=lambda _: None)
    assert report.run().state is DagRunState.SUCCESS
    assert got == ["work 2026-02-03"]
    with pytest.raises(NoTaskContextError, match="outside a running task"):
        get_current_context()
