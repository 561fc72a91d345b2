"""Mapped tasks end to end on real databases: the scheduler expands, the in-process
runner runs each instance (as a worker would), a downstream task collects the values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.authoring.xcomvalues import decode
from engine.state import DagRunState
from tests.support.mapping import TI, Harness, Sessions, write_dag


@pytest.fixture
def harness(sessions: Sessions, dags_folder: Path, db_url: str, tmp_path: Path) -> Any:
    def make(**core: Any) -> Harness:
        return Harness(sessions, dags_folder, db_url, tmp_path / "home", **core)

    return make


def test_mapping_over_xcom_and_literals_runs_every_instance(
    harness: Any, dags_folder: Path
) -> None:
    write_dag(dags_folder)
    h = harness()

    assert h.run_until_done() is DagRunState.SUCCESS

    assert [i[:2] for i in h.instances("add")] == [(i, TI.SUCCESS) for i in range(3)]
    assert [h.value("add", i) for i in range(3)] == [11, 12, 13]
    assert [h.value("double", i) for i in range(3)] == [22, 24, 26]
    assert h.value("total") == [3, [22, 24, 26], 22]
    # The literal cross product: last argument varies fastest.
    assert [h.value("add__1", i) for i in range(6)] == [7, 12, 9, 14, 13, 18]


def test_empty_input_skips_the_mapped_task_and_its_downstream(
    harness: Any, dags_folder: Path
) -> None:
    write_dag(dags_folder, MAKE="[]")
    h = harness()

    assert h.run_until_done() is DagRunState.SUCCESS

    assert h.instances("add") == [(-1, TI.SKIPPED, 0)]
    assert h.instances("total") == [(-1, TI.SKIPPED, 0)]


def test_dict_input_maps_over_key_value_pairs(harness: Any, dags_folder: Path) -> None:
    write_dag(dags_folder, MAKE='{"a": 1, "b": 2}', RULE="all_done")
    h = harness()

    h.run_until_done()

    # ("a", 1) + 10 is a TypeError: each instance got a (key, value) pair.
    assert [i[1] for i in h.instances("add")] == [TI.FAILED, TI.FAILED]


def test_more_than_max_map_length_fails_the_upstream(harness: Any, dags_folder: Path) -> None:
    write_dag(dags_folder, MAKE="[1, 2, 3, 4]")
    h = harness(max_map_length=3)

    assert h.run_until_done() is DagRunState.FAILED

    assert h.instances("make") == [(-1, TI.FAILED, 1)]
    assert h.instances("add") == [(-1, TI.UPSTREAM_FAILED, 0)]


def test_retries_are_per_instance(harness: Any, dags_folder: Path) -> None:
    write_dag(dags_folder, RETRIES=1, FLAKY=True)
    h = harness()

    assert h.run_until_done() is DagRunState.SUCCESS

    tries = {index: try_number for index, _, try_number in h.instances("double")}
    assert tries == {0: 1, 1: 1, 2: 2}  # only the instance of 13 failed once
    assert h.value("total") == [3, [22, 24, 26], 22]


TRANSFORMS = """
from datetime import datetime
from engine import DAG, task

with DAG("mapping", schedule=None, start_date=datetime(2026, 1, 1)):
    @task
    def numbers():
        return [1, 2, 3]

    @task
    def letters():
        return ["a", "b"]

    @task
    def show(item):
        return item

    def label(n):
        return f"n{n}"

    show.override(task_id="labels").expand(item=numbers().map(label))
    show.override(task_id="pairs").expand(item=numbers().zip(letters()))
    show.override(task_id="padded").expand(item=numbers().zip(letters(), fillvalue="-"))
"""


def test_map_and_zip_transform_the_values_each_instance_gets(
    harness: Any, dags_folder: Path
) -> None:
    write_dag(dags_folder, template=TRANSFORMS, defaults={})
    h = harness()

    assert h.run_until_done() is DagRunState.SUCCESS

    assert [h.value("labels", i) for i in range(3)] == ["n1", "n2", "n3"]
    # zip stops at the shortest input unless given a fillvalue; each element is a tuple.
    assert [decode(h.value("pairs", i)) for i in range(2)] == [(1, "a"), (2, "b")]
    assert [i[0] for i in h.instances("pairs")] == [0, 1]
    padded = [decode(h.value("padded", i)) for i in range(3)]
    assert padded == [(1, "a"), (2, "b"), (3, "-")]
