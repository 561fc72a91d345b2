"""``XComArg.concat``: several upstream lists mapped over as one, lazily; its length for
the scheduler is the inputs' lengths added up (Airflow 2.6+)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from engine import DAG, task
from engine.authoring.expansion import expansion_length, upstream_task_ids
from engine.authoring.xcomtransforms import ConcatXComArg
from engine.state import DagRunState
from tests.support.mapping import Harness, Sessions, write_dag


@task
def letters() -> list[str]:
    return ["a", "b"]


@task
def numbers() -> list[int]:
    return [1, 2, 3]


@task
def pairs() -> dict[str, int]:
    return {"x": 9}


@task
def show(item: Any) -> Any:
    return item


def _dag() -> tuple[DAG, ConcatXComArg]:
    with DAG("c", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        joined = letters().concat(numbers(), pairs())
        assert isinstance(joined, ConcatXComArg)
        show.expand(item=joined)
    return dag, joined


def _context(values: dict[str, Any]) -> dict[str, Any]:
    class Ti:
        def xcom_pull(self, task_ids: str, key: str) -> Any:
            return values[task_ids]

    return {"ti": Ti()}


def test_concat_reads_every_input_in_order_lazily() -> None:
    _, joined = _dag()
    got = joined.resolve(_context({"letters": ["a", "b"], "numbers": [1, 2, 3], "pairs": {"x": 9}}))
    assert len(got) == 6
    assert list(got) == ["a", "b", 1, 2, 3, ("x", 9)]  # a dict gives its (key, value) pairs
    assert (got[-1], got[2], got[1:4]) == (("x", 9), 1, ["b", 1, 2])
    with pytest.raises(IndexError):
        got[6]


def test_the_scheduler_adds_up_the_lengths_from_the_serialized_spec() -> None:
    dag, _ = _dag()
    spec = dag.get_task("show").expand_input.serialize()
    assert upstream_task_ids(spec) == {"letters", "numbers", "pairs"}
    lengths = {"letters": 2, "numbers": 3, "pairs": 1}
    assert expansion_length(spec, lengths.get) == 6
    assert expansion_length(spec, {"letters": 2}.get) is None  # wait for every input
    assert set(dag.get_task("show").upstream_task_ids) == {"letters", "numbers", "pairs"}


def test_concat_of_a_concat_and_of_transforms() -> None:
    with DAG("c2", schedule=None, start_date=datetime(2026, 1, 1)):
        a, b, c = letters(), numbers(), numbers()
        joined = a.concat(b).concat(c.map(lambda n: n * 10))
        assert isinstance(joined, ConcatXComArg)
        assert len(joined.args) == 3
        got = joined.resolve(_context({"letters": ["a"], "numbers": [1], "numbers__1": [2]}))
        assert list(got) == ["a", 1, 20]


@pytest.mark.parametrize(
    ("others", "error", "message"),
    [
        (([1, 2],), TypeError, "concat\\(\\) argument must be an XComArg, not list"),
        (("key",), TypeError, "must be an XComArg, not str"),
    ],
)
def test_concat_refuses_what_is_not_a_task_value(
    others: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    with (
        DAG("c3", schedule=None, start_date=datetime(2026, 1, 1)),
        pytest.raises(error, match=message),
    ):
        letters().concat(*others)


def test_concat_refuses_a_non_return_xcom_and_a_scalar_value() -> None:
    with DAG("c4", schedule=None, start_date=datetime(2026, 1, 1)):
        first = letters()
        with pytest.raises(ValueError, match="cannot concatenate non-return XCom"):
            first.concat(numbers()["extra"])
        joined = first.concat(numbers())
    with pytest.raises(ValueError, match="XCom concat expects a sequence or a dict, not int"):
        joined.resolve(_context({"letters": ["a"], "numbers__1": 5}))


CONCAT_DAG = """
from datetime import datetime
from engine import DAG, task

with DAG("mapping", schedule=None, start_date=datetime(2026, 1, 1)):
    @task
    def letters():
        return ["a", "b"]

    @task
    def numbers():
        return [1, 2, 3]

    @task
    def show(item):
        return item

    @task
    def collect(values):
        return list(values)

    collect(show.expand(item=letters().concat(numbers())))
"""


def test_a_concatenated_expansion_runs_one_instance_per_element(
    sessions: Sessions, dags_folder: Path, db_url: str, tmp_path: Path
) -> None:
    write_dag(dags_folder, template=CONCAT_DAG, defaults={})
    h = Harness(sessions, dags_folder, db_url, tmp_path / "home")

    assert h.run_until_done() is DagRunState.SUCCESS

    assert [h.value("show", i) for i in range(5)] == ["a", "b", 1, 2, 3]
    assert h.value("collect") == ["a", "b", 1, 2, 3]
