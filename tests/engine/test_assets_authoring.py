"""Assets in DAG files: names and URIs, conditions, schedules, outlets, ``@asset``, and
their serialized form (what the scheduler and the webserver read)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from engine import (
    DAG,
    Asset,
    AssetAlias,
    AssetAll,
    AssetAny,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    EmptyOperator,
    asset,
)
from engine.authoring.assets import BaseAsset, deserialize_asset
from engine.authoring.operators.empty import runs_no_code
from engine.authoring.serialization import SerializedDAG, serialize_dag
from engine.authoring.timetables.assets import AssetTriggeredTimetable, asset_condition
from engine.authoring.validation import validate_dag
from engine.errors import InvalidInputError

START = datetime(2026, 1, 1)


def test_name_and_uri_default_to_each_other() -> None:
    by_uri = Asset(uri="s3://bucket/key")
    by_name = Asset("orders")
    assert (by_uri.name, by_uri.uri) == ("s3://bucket/key", "s3://bucket/key")
    assert (by_name.name, by_name.uri) == ("orders", "orders")
    assert Asset(name="n", uri="u").group == "asset"


def test_uri_is_normalized_as_airflow_does() -> None:
    assert Asset(uri="S3://bucket/dir/?b=2&a=1#part").uri == "s3://bucket/dir?a=1&b=2"
    assert Asset(uri="file://host").uri == "file://host/"
    with pytest.warns(UserWarning, match="user info"):
        assert Asset(uri="postgres://me:secret@db/x").uri == "postgres://db/x"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs a name or a uri"),
        ({"uri": "   "}, "must not be empty"),
        ({"uri": "airflow://x"}, "reserved"),
        ({"name": "caf\u00e9"}, "ASCII"),
        ({"name": "x" * 1501}, "longer than 1500"),
        ({"name": "a", "extra": ["no"]}, "extra must be a dict"),
        ({"name": "a", "colour": "blue"}, "unknown argument(s) 'colour' to Asset"),
    ],
)
def test_bad_assets_are_errors_naming_the_problem(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        Asset(**kwargs)  # type: ignore[arg-type]


def test_conditions_combine_and_flatten() -> None:
    a, b, c = Asset("a"), Asset("b"), AssetAlias("c")
    assert a | b | c == AssetAny(a, b, c)
    expr = a & (b | c)
    assert expr == AssetAll(a, AssetAny(b, c))
    assert list(expr.iter_assets()) == [a, b]
    assert list(expr.iter_aliases()) == [c]
    with pytest.raises(InvalidInputError, match="combines assets"):
        a | "b"  # type: ignore[operator]


@pytest.mark.parametrize(
    ("queued", "holds"),
    [(set(), False), ({"a"}, False), ({"b"}, False), ({"a", "b"}, True), ({"a", "c"}, True)],
)
def test_condition_evaluation(queued: set[str], holds: bool) -> None:
    expr = Asset("a") & (Asset("b") | AssetAlias("c"))

    def is_queued(item: BaseAsset) -> bool:
        return getattr(item, "name", None) in queued

    assert expr.evaluate(is_queued) is holds


def test_schedule_list_means_all_and_needs_no_start_date() -> None:
    a, b = Asset("a"), Asset("b")
    with DAG("consumer", schedule=[a, b]) as dag:
        EmptyOperator(task_id="t")
    assert dag.problems == []
    assert isinstance(dag.schedule, AssetTriggeredTimetable)
    assert asset_condition(dag.schedule) == AssetAll(a, b)
    assert not dag.schedule.can_be_scheduled
    assert dag.schedule.description == "Triggered by assets: a & b"


def test_schedule_list_mixing_assets_and_other_things_is_a_problem() -> None:
    dag = DAG("mixed", schedule=[Asset("a"), "@daily"])
    assert any("must hold only assets" in message for message, _ in dag.problems)


def test_asset_or_time_schedule_plans_on_its_timetable() -> None:
    cron = CronTriggerTimetable("0 6 * * *", timezone="UTC")
    dag = DAG(
        "both", schedule=AssetOrTimeSchedule(timetable=cron, assets=Asset("a")), start_date=START
    )
    assert dag.problems == []
    assert dag.schedule.can_be_scheduled
    assert dag.schedule.summary == "Asset or 0 6 * * *"
    assert dag.schedule.description.endswith("or when triggered by assets: a")
    with pytest.raises(InvalidInputError, match="'every'"):
        AssetOrTimeSchedule(timetable=cron, assets=Asset("a"), every=1)  # type: ignore[call-arg]
    with pytest.raises(InvalidInputError, match="time-based timetable"):
        AssetOrTimeSchedule(timetable="@daily", assets=Asset("a"))  # type: ignore[arg-type]


def test_outlets_must_be_assets() -> None:
    with DAG("producer") as dag:
        EmptyOperator(task_id="t", outlets=["s3://x"])
    found = [p.message for p in validate_dag(dag)]
    assert any("task 't': outlets must be Assets or AssetAliases" in m for m in found)


def test_schedule_and_outlets_survive_serialization() -> None:
    a, b, alias = Asset("a", extra={"k": 1}), Asset(uri="s3://b"), AssetAlias("al")
    cron = CronTriggerTimetable("0 6 * * *", timezone="UTC")
    with DAG(
        "d", schedule=AssetOrTimeSchedule(timetable=cron, assets=a & (b | alias)), start_date=START
    ) as dag:
        EmptyOperator(task_id="t", outlets=[a, alias], inlets=[b])
    data = serialize_dag(dag)
    read = SerializedDAG.from_dict(data)
    assert read.to_dict() == data
    assert asset_condition(read.schedule) == a & (b | alias)
    assert read.schedule.timetable == cron  # type: ignore[attr-defined]
    assert read.tasks["t"].outlets == (a, alias)
    assert read.tasks["t"].inlets == (b,)
    assert deserialize_asset(a.serialize()).extra == {"k": 1}  # type: ignore[attr-defined]


def test_empty_operator_with_outlets_runs_on_a_worker() -> None:
    with DAG("d"):
        plain = EmptyOperator(task_id="plain")
        producing = EmptyOperator(task_id="producing", outlets=[Asset("a")])
    assert runs_no_code(plain)
    assert not runs_no_code(producing)


def test_asset_decorator_makes_a_dag_of_one_task() -> None:
    @asset(schedule="@daily", start_date=START, uri="s3://bucket/raw")
    def raw_data(self: Asset, ds: str) -> str:
        return f"{self.uri} {ds}"

    assert isinstance(raw_data, Asset)
    assert (raw_data.name, raw_data.uri) == ("raw_data", "s3://bucket/raw")
    dag = raw_data.dag
    assert dag.dag_id == "raw_data"
    assert dag.task_ids == ["raw_data"]
    assert dag.get_task("raw_data").outlets == [raw_data]
    result = dag.get_task("raw_data").execute({"ds": "2026-01-01", "ti": None})
    assert result == "s3://bucket/raw 2026-01-01"


upstream_table = Asset(name="upstream_table", uri="s3://bucket/upstream")


def test_an_asset_function_parameter_named_after_an_asset_is_that_asset_and_an_inlet() -> None:
    @asset(schedule=None, uri="s3://bucket/out")
    def derived(self: Asset, context: dict[str, Any], upstream_table: Asset, ds: str) -> str:
        assert context["ds"] == ds
        return f"{self.name} <- {upstream_table.uri} {ds}"

    task = derived.dag.get_task("derived")
    assert task.inlets == [upstream_table]
    assert derived.inlet_assets == {"upstream_table": upstream_table}
    result = task.execute({"ds": "2026-01-01", "ti": None})
    assert result == "derived <- s3://bucket/upstream 2026-01-01"


def test_asset_decorator_reports_unknown_dag_arguments() -> None:
    @asset(schedule=None, colour="blue")
    def thing() -> None: ...

    assert any("unknown argument 'colour'" in m for m, _ in thing.dag.problems)


def test_a_task_without_assets_serializes_as_before_assets_existed() -> None:
    """No new keys: a DAG that uses no assets keeps its hash (and version) on upgrade."""
    with DAG("d") as dag:
        EmptyOperator(task_id="t")
    [task] = serialize_dag(dag)["tasks"]
    assert "outlets" not in task
    assert "inlets" not in task
