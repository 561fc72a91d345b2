"""Templates render the run's context; an undefined name says which, and where."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine import DAG, BashOperator
from engine.authoring.templating import render_value
from engine.errors import TemplateError
from engine.execution.attempt import render_task
from engine.execution.context import RunInfo, TaskInstanceHandle, build_context
from engine.execution.xcoms import MemoryXComStore

LOGICAL = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)


def context_for(dag: DAG, task_id: str, conf: dict[str, object] | None = None) -> dict[str, object]:
    run = RunInfo("d", "manual__1", LOGICAL, LOGICAL, LOGICAL, conf=conf or {})
    ti = TaskInstanceHandle("d", "manual__1", task_id, 1, 1, MemoryXComStore())
    return build_context(dag=dag, task=dag.get_task(task_id), run=run, ti=ti, params={"x": 7})


def test_bash_command_and_env_are_rendered() -> None:
    with DAG("d") as dag:
        BashOperator(
            task_id="t",
            bash_command=(
                "echo {{ ds }} {{ ds_nodash }} {{ run_id }} {{ params.x }} {{ dag_run.conf.who }}"
            ),
            env={"WHEN": "{{ logical_date.isoformat() }}"},
        )
    rendered = render_task(dag.get_task("t"), context_for(dag, "t", {"who": "ops"}))
    assert rendered.bash_command == "echo 2026-03-04 20260304 manual__1 7 ops"  # type: ignore[attr-defined]
    assert rendered.env == {"WHEN": "2026-03-04T05:06:00+00:00"}  # type: ignore[attr-defined]
    assert dag.get_task("t").bash_command.startswith("echo {{")  # type: ignore[attr-defined]


def test_undefined_name_is_an_error_naming_the_field_and_the_name() -> None:
    with DAG("d") as dag:
        BashOperator(task_id="t", bash_command="echo {{ nonsense }}")
    with pytest.raises(TemplateError, match=r"bash_command of task 't': 'nonsense' is undefined"):
        render_task(dag.get_task("t"), context_for(dag, "t"))


def test_undefined_attribute_is_an_error_too() -> None:
    with pytest.raises(TemplateError, match="has no attribute 'missing'"):
        render_value("{{ params.missing }}", {"params": {}}, where="f")


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match="syntax error on line 1"):
        render_value("{{ unclosed", {}, where="f")


def test_nested_structures_render_and_non_strings_pass_through() -> None:
    value = {"a": ["{{ x }}", 3], "b": ("{{ x }}!",)}
    assert render_value(value, {"x": "y"}, where="f") == {"a": ["y", 3], "b": ("y!",)}
