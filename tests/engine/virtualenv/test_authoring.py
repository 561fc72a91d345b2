"""Virtualenv and external-Python tasks, as the DAG file declares them: what cannot run in
another interpreter is a DAG problem naming the function, found at parse time."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

from engine import (
    DAG,
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
    task,
)
from engine.authoring.operators.isolated import runner
from engine.authoring.operators.isolated.source import function_source
from engine.authoring.validation import validate_dag
from engine.config import load_settings

LIMIT = 3


def messages(dag: DAG) -> list[str]:
    return [p.message for p in validate_dag(dag)]


def self_contained(x: int, ds: str | None = None) -> int:
    import math

    def helper(y: int) -> int:
        return y + 1

    return helper(math.floor(x)) + sum(i * i for i in range(x))


def uses_outside(x: int) -> int:
    return LIMIT + json.loads("1") + x


def outside_default(x: int = LIMIT) -> int:
    return x


def wants_ti(ti):  # type: ignore[no-untyped-def]
    return ti


def generator():  # type: ignore[no-untyped-def]
    yield 1


def test_a_self_contained_function_is_accepted_in_every_form() -> None:
    with DAG("d") as dag:
        PythonVirtualenvOperator(task_id="a", python_callable=self_contained, op_args=[1])
        ExternalPythonOperator(task_id="b", python_callable=self_contained, python="/x/python")
        BranchPythonVirtualenvOperator(task_id="c", python_callable=self_contained)
        BranchExternalPythonOperator(task_id="e", python_callable=self_contained, python="/p")
    assert messages(dag) == []
    assert dag.get_task("c").is_branch
    assert dag.get_task("e").is_branch


def test_names_from_outside_the_function_are_a_problem_naming_them() -> None:
    with DAG("d") as dag:
        PythonVirtualenvOperator(task_id="a", python_callable=uses_outside)
        PythonVirtualenvOperator(task_id="b", python_callable=outside_default)
    assert messages(dag) == [
        "task 'a': function 'uses_outside' is not self-contained: it uses LIMIT, json, "
        "defined outside it; it runs in another Python interpreter, so import modules and "
        "define helpers inside the function",
        "task 'b': function 'outside_default' is not self-contained: it uses LIMIT, defined "
        "outside it; it runs in another Python interpreter, so import modules and define "
        "helpers inside the function",
    ]


def test_lambdas_generators_and_other_callables_are_refused() -> None:
    with DAG("d") as dag:
        PythonVirtualenvOperator(task_id="a", python_callable=lambda: 1)
        ExternalPythonOperator(task_id="b", python_callable=generator, python="/p")
        PythonVirtualenvOperator(task_id="c", python_callable=functools.partial(max, 1))
    assert messages(dag) == [
        "task 'a': needs a function defined with def, not a lambda",
        "task 'b': function 'generator' must be a plain def: generators and async are not "
        "supported",
        "task 'c': needs a function defined with def, got partial",
    ]


def test_unknown_and_malformed_arguments_are_problems() -> None:
    with DAG("d") as dag:
        PythonVirtualenvOperator(
            task_id="a", python_callable=self_contained, requirments=["x"], use_dill=True
        )
        PythonVirtualenvOperator(
            task_id="b", python_callable=self_contained, python_version=3.12, serializer="yaml"
        )
        ExternalPythonOperator(task_id="c", python_callable=self_contained)
        PythonVirtualenvOperator(task_id="e", python_callable=wants_ti)
        PythonVirtualenvOperator(task_id="f", python_callable=self_contained, skip_on_exit_code="1")
    assert messages(dag) == [
        "task 'a': unknown argument 'requirments' to PythonVirtualenvOperator",
        "task 'a': unknown argument 'use_dill' to PythonVirtualenvOperator (removed in "
        "Airflow 3: use serializer='dill')",
        "task 'b': unknown serializer 'yaml': use one of json, pickle, cloudpickle, dill",
        "task 'b': python_version must be a string such as '3.12', got 3.12",
        "task 'c': python must be the path of an existing Python interpreter, got None",
        "task 'e': function 'wants_ti' takes the context value 'ti', which cannot be passed "
        "to another Python interpreter; it can take ds, ds_nodash, ts, ts_nodash, "
        "ts_nodash_with_tz, run_id, map_index, logical_date, data_interval_start, "
        "data_interval_end, prev_data_interval_start_success, prev_data_interval_end_success, "
        "prev_start_date_success, prev_end_date_success, params, conf, task_instance_key_str, "
        "expanded_ti_count, try_number",
        "task 'f': skip_on_exit_code must be an exit code or a list of them: '1'",
    ]


def test_the_decorators_make_the_operators_and_check_the_function() -> None:
    with DAG("d") as dag:

        @task.virtualenv(requirements=["b==1", "a"], system_site_packages=False)
        def first() -> int:
            return 1

        @task.external_python(python=sys.executable)
        def second(value: int) -> int:
            return value + LIMIT

        @task.branch_virtualenv
        def choose() -> str:
            return "first"

        @task.branch_external_python(python=sys.executable)
        def choose_too() -> str:
            return "first"

        second(first())
        choose() >> choose_too()
    assert type(dag.get_task("first")) is PythonVirtualenvOperator
    assert type(dag.get_task("second")) is ExternalPythonOperator
    assert type(dag.get_task("choose")) is BranchPythonVirtualenvOperator
    assert type(dag.get_task("choose_too")) is BranchExternalPythonOperator
    assert dag.get_task("second").upstream_task_ids == {"first"}
    assert dag.get_task("first").requirement_lines() == ["a", "b==1"]
    assert messages(dag) == [
        "task 'second': function 'second' is not self-contained: it uses LIMIT, defined "
        "outside it; it runs in another Python interpreter, so import modules and define "
        "helpers inside the function"
    ]


def test_the_source_drops_decorators_and_keeps_the_files_line_numbers() -> None:
    @task.virtualenv(
        requirements=[],
    )
    def decorated(x: int) -> int:
        return x

    source = function_source(decorated.function)
    lines = source.text.splitlines()
    def_line = decorated.function.__code__.co_firstlineno + 3
    assert lines[def_line - 1].strip() == "def decorated(x: int) -> int:"
    assert "@task" not in source.text
    assert source.filename == __file__


def test_requirement_text_is_split_sorted_and_gets_the_serializer_when_isolated() -> None:
    op = PythonVirtualenvOperator(
        task_id="t",
        python_callable=self_contained,
        requirements="# pinned\nzlib-ng==1\n\nattrs>=2\n",
        serializer="dill",
        system_site_packages=False,
    )
    assert op.requirement_lines() == ["attrs>=2", "dill", "zlib-ng==1"]
    op.system_site_packages = True
    assert op.requirement_lines() == ["attrs>=2", "zlib-ng==1"]


def test_json_serializer_keeps_dates_and_times() -> None:
    from datetime import UTC, date, datetime, time, timedelta

    value = {
        "when": datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        "day": date(2026, 1, 2),
        "at": time(5, 6),
        "gap": timedelta(minutes=90),
        "rows": [1, "a", None],
    }
    assert runner.loads(runner.dumps(value, "json"), "json") == value
    assert runner.loads(runner.dumps(value, "pickle"), "pickle") == value


def test_the_cache_lives_under_loom_home_unless_configured(tmp_path: Path) -> None:
    default = load_settings({"LOOM_HOME": "home"}, cwd=tmp_path)
    assert default.virtualenv.cache_path == tmp_path / "home" / "venvs"
    assert default.virtualenv.install_method == "auto"
    moved = load_settings({"LOOM__VIRTUALENV__CACHE_PATH": "envs"}, cwd=tmp_path)
    assert moved.virtualenv.cache_path == tmp_path / "envs"
    off = load_settings(
        {"LOOM__VIRTUALENV__CACHE_PATH": "", "LOOM__VIRTUALENV__INSTALL_METHOD": "PIP"},
        cwd=tmp_path,
    )
    assert off.virtualenv.cache_path is None
    assert off.virtualenv.install_method == "pip"
