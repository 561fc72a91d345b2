"""Parse-time behaviour of mapped task groups: placeholders, dependencies, the
serialized spec, and the errors (each naming the group or task and the DAG file's line)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from engine import DAG, BashOperator, task, task_group
from engine.authoring.mappedgroup import MappedArgument, MappedTaskGroup
from engine.authoring.serialization import SerializedDAG, serialize_dag


@pytest.fixture
def dag() -> Any:
    with DAG("m", schedule=None, start_date=datetime(2026, 1, 1)) as d:
        yield d


@task
def make() -> list[int]:
    return [1, 2]


@task
def add(x: int, k: int = 0) -> int:
    return x + k


def test_parameters_are_placeholders_and_partial_arguments_pass_as_they_are(dag: Any) -> None:
    seen: dict[str, Any] = {}

    @task_group
    def grp(x: Any, k: Any) -> Any:
        seen.update(x=x, k=k)
        return add(x, k)

    result = grp.partial(k=10).expand(x=make())

    assert isinstance(seen["x"], MappedArgument)
    assert seen["x"].name == "x"
    assert seen["k"] == 10
    group = dag.task_group["grp"]
    assert isinstance(group, MappedTaskGroup)
    # The function's return value comes back (as for a call), and the values the group
    # expands over are upstream of the group.
    assert result.operator.task_id == "grp.add"
    assert dag.task_dict["grp.add"].upstream_task_ids == {"make"}


def test_the_spec_is_serialized_once_on_the_group(dag: Any) -> None:
    @task_group
    def grp(x: Any) -> None:
        add(add(x))

    grp.expand(x=[1, 2, 3])
    data = serialize_dag(dag)

    (group,) = data["task_groups"]
    assert group["mapped"] == {"kind": "expand", "args": {"x": {"literal": [1, 2, 3]}}}
    specs = {t["task_id"]: t.get("mapped") for t in data["tasks"]}
    assert specs == {
        "grp.add": {"kind": "group", "group_id": "grp"},
        "grp.add__1": {"kind": "group", "group_id": "grp"},
    }
    loaded = SerializedDAG.from_dict(data)
    assert loaded.to_dict() == data
    assert loaded.expansion_of("grp.add__1") == group["mapped"]
    assert loaded.same_mapped_group("grp.add") == {"grp.add", "grp.add__1"}


def test_an_unmapped_group_serializes_as_before(dag: Any) -> None:
    @task_group
    def plain(x: int) -> None:
        add(x)

    plain(1)
    (group,) = serialize_dag(dag)["task_groups"]
    assert "mapped" not in group


def test_a_plain_group_inside_a_mapped_group_is_mapped_with_it(dag: Any) -> None:
    @task_group
    def inner(x: Any) -> None:
        add(x)

    @task_group
    def outer(x: Any) -> None:
        inner(x)

    outer.expand(x=[1, 2])
    loaded = SerializedDAG.from_dict(serialize_dag(dag))
    assert loaded.mapped_groups == {"outer.inner.add": "outer"}


def test_expand_kwargs_places_each_parameter_not_partial(dag: Any) -> None:
    seen: dict[str, Any] = {}

    @task_group
    def grp(a: Any, b: Any = 2, c: Any = 3) -> None:
        seen.update(a=a, b=b, c=c)
        add(a)

    grp.partial(c=30).expand_kwargs([{"a": 1}, {"a": 2, "b": 5}])

    assert isinstance(seen["a"], MappedArgument)
    assert isinstance(seen["b"], MappedArgument)
    assert seen["c"] == 30


ERRORS: list[tuple[str, type[Exception], str]] = [
    ("nothing", TypeError, "no arguments to expand against"),
    ("unknown", TypeError, "expand() got an unexpected keyword argument 'zz'"),
    ("string", ValueError, "expand() got an unexpected type 'str' for keyword argument x"),
    ("already partial", TypeError, "mapping already partial argument: k"),
    ("duplicate partial", TypeError, "duplicate partial argument: k"),
    ("partial unknown", TypeError, "partial() got an unexpected keyword argument 'zz'"),
    ("expand_kwargs type", TypeError, "expected XComArg or list[dict], not int"),
]


@pytest.mark.parametrize(("case", "exc", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_expansions_name_the_group_and_the_line(
    dag: Any, case: str, exc: type[Exception], message: str
) -> None:
    @task_group
    def grp(x: Any, k: Any = 0) -> None:
        add(x, k)

    calls = {
        "nothing": lambda: grp.expand(),
        "unknown": lambda: grp.expand(zz=[1]),
        "string": lambda: grp.expand(x="abc"),
        "already partial": lambda: grp.partial(k=1).expand(k=[1]),
        "duplicate partial": lambda: grp.partial(k=1).partial(k=2),
        "partial unknown": lambda: grp.partial(zz=1),
        "expand_kwargs type": lambda: grp.expand_kwargs(5),
    }
    with pytest.raises(exc) as info:
        calls[case]()
    text = str(info.value)
    assert message in text
    assert "task group 'grp'" in text
    assert f"{__file__}:" in text


def test_mapping_a_task_inside_a_mapped_group_is_refused(dag: Any) -> None:
    @task_group
    def grp(x: Any) -> None:
        add.expand(x=[1, 2])

    with pytest.raises(
        NotImplementedError, match="operator expansion in an expanded task group"
    ) as info:
        grp.expand(x=[1])
    assert "'grp.add'" in str(info.value)
    assert f"{__file__}:" in str(info.value)


def test_a_mapped_group_inside_a_mapped_group_is_refused(dag: Any) -> None:
    @task_group
    def inner(y: Any) -> None:
        add(y)

    @task_group
    def outer(x: Any) -> None:
        inner.expand(y=[1, 2])

    with pytest.raises(
        NotImplementedError, match="nested mapped task groups are not supported"
    ) as info:
        outer.expand(x=[1])
    assert "'outer.inner'" in str(info.value)
    assert "'outer'" in str(info.value)


def test_always_is_refused_when_the_group_maps_over_a_task(dag: Any) -> None:
    @task_group
    def grp(x: Any) -> None:
        add.override(trigger_rule="always")(x)

    with pytest.raises(ValueError, match="not allowed with trigger rule 'always'") as info:
        grp.expand(x=make())
    assert "'grp.add'" in str(info.value)


def test_always_is_fine_over_literals(dag: Any) -> None:
    @task_group
    def grp(x: Any) -> None:
        add.override(trigger_rule="always")(x)

    grp.expand(x=[1, 2])
    assert "grp.add" in dag.task_dict


def test_a_classic_operator_takes_a_placeholder_in_a_templated_field(dag: Any) -> None:
    @task_group
    def grp(cmd: Any) -> None:
        BashOperator(task_id="run", bash_command=cmd)

    grp.expand(cmd=["echo 1", "echo 2"])
    assert not dag.task_dict["grp.run"].problems
