"""The asset keys of a task's context, without a database: what a task sets on
``outlet_events`` is what the worker's finish writes; ``dags test`` sees no events."""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import pytest

from engine import DAG, Asset, AssetAlias, BaseOperator, EmptyOperator, Metadata, PythonOperator
from engine.errors import InvalidInputError
from engine.execution.assets import NO_EVENTS, outlet_events_of
from engine.execution.context import RunInfo, TaskInstanceHandle, build_context
from engine.execution.xcoms import MemoryXComStore

A, B, ALIAS = Asset("a"), Asset("b"), AssetAlias("al")
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def context_of(task: BaseOperator) -> dict[str, Any]:
    assert task.dag is not None
    run = RunInfo("d", "r", T0, T0, T0)
    ti = TaskInstanceHandle("d", "r", task.task_id, 1, 1, MemoryXComStore())
    return build_context(dag=task.dag, task=task, run=run, ti=ti, params={})


def test_outlet_events_collect_extras_and_alias_additions() -> None:
    with DAG("d"):
        task = EmptyOperator(task_id="t", outlets=[A, ALIAS], inlets=[B])
    outlet_events = context_of(task)["outlet_events"]
    outlet_events[Asset("a")].extra = {"rows": 1}
    outlet_events[ALIAS].add(Asset("s3://x"), extra={"k": 2})
    found = outlet_events_of(outlet_events)
    assert found.extras == {A: {"rows": 1}}
    assert found.through_aliases == [("al", Asset("s3://x"), {"k": 2})]
    with pytest.raises(KeyError, match="not an outlet"):
        outlet_events[B]
    with pytest.raises(TypeError, match="AssetAlias"):
        outlet_events[A].add(Asset("y"))


def test_without_a_database_a_task_sees_no_events() -> None:
    with DAG("d"):
        task = EmptyOperator(task_id="t", inlets=[B])
    context = context_of(task)
    assert list(context["inlet_events"][B]) == []
    assert dict(context["triggering_asset_events"]) == {}
    with pytest.raises(KeyError, match="not an inlet"):
        context["inlet_events"][A]
    assert NO_EVENTS.triggering("d", "r") == {}


def test_for_asset_and_for_asset_alias_find_an_outlet_or_inlet_by_name_or_uri() -> None:
    named = Asset(name="n", uri="s3://bucket/x")
    with DAG("d"):
        task = EmptyOperator(task_id="t", outlets=[named, ALIAS], inlets=[named, ALIAS])
    context = context_of(task)
    outlet_events, inlet_events = context["outlet_events"], context["inlet_events"]
    outlet_events.for_asset(uri="s3://bucket/x").extra = {"rows": 3}
    outlet_events.for_asset_alias(name="al").add(A)
    found = outlet_events_of(outlet_events)
    assert found.extras == {named: {"rows": 3}}
    assert found.through_aliases == [("al", A, {})]
    assert outlet_events.for_asset(name="n", uri="s3://bucket/x").key == named
    assert list(inlet_events.for_asset(name="n")) == []
    assert list(inlet_events.for_asset_alias(name="al")) == []
    with pytest.raises(KeyError, match="uri='s3://other"):
        inlet_events.for_asset(uri="s3://other")
    with pytest.raises(KeyError, match="alias named 'nope'"):
        outlet_events.for_asset_alias(name="nope")


def test_templates_reach_inlet_events_by_uri() -> None:
    with DAG("d"):
        task = EmptyOperator(task_id="t", inlets=[Asset("s3://output/1.txt")])
    context = context_of(task)
    text = "{{ inlet_events.for_asset(uri='s3://output/1.txt') | length }}"
    assert task.render_template(text, context) == "0"


def test_metadata_a_task_function_yields_becomes_its_outlet_events() -> None:
    def produce() -> Generator[object, None, str]:
        yield Metadata(A, {"rows": 1})
        yield "not metadata"  # logged and dropped, as in Airflow
        yield Metadata(Asset("s3://x"), {"k": 2}, alias=ALIAS)
        return "done"

    with DAG("d"):
        task = PythonOperator(task_id="t", python_callable=produce, outlets=[A, ALIAS])
    context = context_of(task)
    assert task.execute(context) == "done"
    found = outlet_events_of(context["outlet_events"])
    assert found.extras == {A: {"rows": 1}}
    assert found.through_aliases == [("al", Asset("s3://x"), {"k": 2})]
    with pytest.raises(InvalidInputError, match="takes an Asset"):
        Metadata(ALIAS, {})  # type: ignore[arg-type]
