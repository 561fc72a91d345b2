"""Task settings are declared once: the operator, default_args and serialization follow
the table, and the typed record holds exactly its serialized settings."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from engine import DAG, EmptyOperator
from engine.authoring.serialization import SerializedTask
from engine.authoring.tasksettings import (
    SERIALIZED_SETTINGS,
    TASK_SETTINGS,
    SerializedSettingValues,
)

STRUCTURE = {
    "task_id", "operator", "upstream_task_ids", "downstream_task_ids", "is_branch",
    "callbacks", "template_fields", "fields", "line", "priority_weight_total",
    "task_group_id",
}  # fmt: skip


def test_the_typed_values_are_exactly_the_serialized_settings() -> None:
    declared = set(SerializedSettingValues.__annotations__)
    assert declared == {setting.name for setting in SERIALIZED_SETTINGS}


def test_a_serialized_task_has_each_setting_as_an_attribute() -> None:
    stored = SerializedTask.from_operator(EmptyOperator(task_id="t", retries=2))
    for setting in SERIALIZED_SETTINGS:
        assert getattr(stored, setting.name) == stored.settings[setting.name]
    assert stored.retries == 2
    assert {f.name for f in dataclasses.fields(SerializedTask)} & {
        s.name for s in SERIALIZED_SETTINGS
    } == set()


def test_every_setting_has_its_default_on_a_bare_operator() -> None:
    task = EmptyOperator(task_id="bare")
    for setting in TASK_SETTINGS:
        assert getattr(task, setting.name) == setting.kind.accept(setting.name, setting.default, [])
    assert task.problems == []


def test_default_args_fill_any_setting_and_the_round_trip_keeps_it() -> None:
    with DAG("d", default_args={"retries": 3, "deadline": 90, "email": "ops@example.com"}):
        task = EmptyOperator(task_id="t", pool="slow")
    stored = SerializedTask.from_operator(task)
    assert (stored.retries, stored.deadline, stored.email, stored.pool) == (
        3, timedelta(seconds=90), ("ops@example.com",), "slow",
    )  # fmt: skip
    assert SerializedTask.from_dict(stored.to_dict()) == stored


def test_a_dag_serialized_before_a_setting_existed_reads_its_default() -> None:
    data = SerializedTask.from_operator(EmptyOperator(task_id="old")).to_dict()
    for name in ("deadline", "notify", "email_on_success"):
        del data[name]
    old = SerializedTask.from_dict(data)
    assert (old.deadline, old.notify, old.email_on_success) == (None, (), False)


def test_an_unknown_argument_is_a_problem_that_names_it() -> None:
    task = EmptyOperator(task_id="typo", retires=3)
    assert task.problems == ["unknown argument 'retires' to EmptyOperator"]
