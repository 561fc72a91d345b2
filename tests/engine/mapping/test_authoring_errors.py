"""Parse-time errors of dynamic task mapping: each names the problem, the task and the
line of the DAG file that made the call (Airflow's messages, plus where)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from engine import DAG, BashOperator, task
from engine.authoring.taskflow import XComArg


def _line_of(call: Callable[[], Any]) -> int:
    """The line of the DAG file (this one) that made the failing call."""
    with pytest.raises(ValueError, match="unexpected type") as info:
        call()
    match = re.search(rf"{re.escape(__file__)}:(\d+)", str(info.value))
    assert match, f"no call site in {info.value!r}"
    return int(match.group(1))


def _here() -> int:
    return sys._getframe(1).f_lineno


@pytest.fixture
def dag() -> Any:
    with DAG("m", schedule=None, start_date=datetime(2026, 1, 1)) as d:
        yield d


@task
def add(x: int, y: int = 0) -> int:
    return x + y


@task
def make() -> list[int]:
    return [1, 2]


CASES: list[tuple[str, type[Exception], str, Callable[[], Any]]] = [
    ("no args", TypeError, "no arguments to expand against", lambda: add.expand()),
    ("positional", TypeError, "expand() takes keyword arguments only", lambda: add.expand([1])),
    (
        "unknown name",
        TypeError,
        "expand() got an unexpected keyword argument 'z'",
        lambda: add.expand(z=[1]),
    ),
    (
        "context key",
        ValueError,
        "cannot call expand() on task context variable 'ds'",
        lambda: add.expand(ds=[1]),
    ),
    (
        "string",
        ValueError,
        "expand() got an unexpected type 'str'",
        lambda: add.expand(x="abc"),
    ),
    (
        "int",
        ValueError,
        "expand() got an unexpected type 'int'",
        lambda: add.expand(x=3),
    ),
    (
        "classic unknown",
        TypeError,
        "BashOperator.expand() got an unexpected keyword argument 'foo'",
        lambda: BashOperator.partial(task_id="b").expand(foo=["x"]),
    ),
    (
        "classic task_id",
        TypeError,
        "unmappable or already specified argument: task_id",
        lambda: BashOperator.partial(task_id="b").expand(task_id=["x"]),
    ),
    (
        "classic already partial",
        TypeError,
        "unmappable or already specified argument: env",
        lambda: BashOperator.partial(task_id="b", env={}).expand(env=[{}]),
    ),
    (
        "classic wrong type",
        ValueError,
        "BashOperator.expand() got an unexpected type 'int'",
        lambda: BashOperator.partial(task_id="b").expand(bash_command=1),
    ),
    (
        "partial unknown",
        TypeError,
        "BashOperator.partial() got an unexpected keyword argument 'bogus'",
        lambda: BashOperator.partial(task_id="b", bogus=1),
    ),
    (
        "expand_kwargs type",
        TypeError,
        "expected XComArg or list[dict], not int",
        lambda: BashOperator.partial(task_id="b").expand_kwargs(5),
    ),
]


@pytest.mark.parametrize(
    ("exc", "message", "call"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_error_names_problem_task_and_line(
    dag: Any, exc: type[Exception], message: str, call: Callable[[], Any]
) -> None:
    with pytest.raises(exc) as info:
        call()
    text = str(info.value)
    assert message in text
    assert re.search(r"task '(add|b)'", text), text
    assert f"{__file__}:" in text


def test_the_line_is_the_dag_files_call(dag: Any) -> None:
    line = _here() + 1
    assert _line_of(lambda: add.expand(x="abc")) == line


def test_duplicate_partial_argument(dag: Any) -> None:
    with pytest.raises(TypeError, match="duplicate partial argument: y"):
        add.partial(y=1).partial(y=2)


def test_always_with_task_generated_mapping(dag: Any) -> None:
    with pytest.raises(ValueError, match="not allowed with trigger rule 'always'") as info:
        add.override(trigger_rule="always").expand(x=make())
    assert "'add'" in str(info.value)


def test_map_over_a_custom_key_is_refused(dag: Any) -> None:
    producer = BashOperator(task_id="p", bash_command="echo")
    with pytest.raises(ValueError, match="cannot map over non-return XCom of task 'p'"):
        add.expand(x=XComArg(producer, key="other"))


def test_valid_mappings_parse(dag: Any) -> None:
    add.partial(y=10).expand(x=[1, 2, 3])
    add.expand(x=make())
    add.expand(x={"a": 1})
    BashOperator.partial(task_id="b").expand(bash_command=["echo 1", "echo 2"])
    assert {"add", "make", "b"} <= set(dag.task_ids)
