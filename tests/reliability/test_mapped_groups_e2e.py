"""A mapped task group with real processes: ``loom scheduler`` and two ``loom worker``s on
PostgreSQL and Redis database 4 (this module's own). The group is expanded over what a
worker returned; a failure stays in its map index inside the group; the task after the
group collects every instance's value."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import Loom, loom_on_redis
from tests.support.services import redis_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

loom = loom_on_redis(redis_url(4))


GROUP_DAG = """
from datetime import datetime
from engine import DAG, task, task_group

with DAG("grouped", schedule=None, start_date=datetime(2026, 1, 1)):
    @task
    def make():
        return [1, 2, 3]

    @task
    def add(x, k):
        if x == 2:
            raise ValueError("two is refused")
        return x + k

    @task
    def double(v):
        return v * 2

    @task_group
    def grp(x, k):
        return double(add(x, k))

    @task(trigger_rule="all_done")
    def collect(values):
        return list(values)

    collect(grp.partial(k=10).expand(x=make()))
"""


def test_a_mapped_group_runs_depth_first_on_workers(loom: Loom) -> None:
    loom.add_dag("grouped", GROUP_DAG)
    loom.reparse()
    loom.scheduler()
    loom.worker(name="worker-1")
    loom.worker(name="worker-2")
    loom.trigger("grouped", "--run-id", "r")

    assert loom.wait_runs("grouped", 1, timeout=90) == {"r": "success"}  # its leaf ran

    rows = loom.db.rows(
        "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = 'grouped'"
    )
    states = {(row.task_id, row.map_index): row.state for row in rows}
    assert states == {
        ("make", -1): "success",
        ("grp.add", 0): "success",
        ("grp.add", 1): "failed",
        ("grp.add", 2): "success",
        ("grp.double", 0): "success",
        ("grp.double", 1): "upstream_failed",
        ("grp.double", 2): "success",
        ("collect", -1): "success",
    }
    [collected] = loom.db.rows(
        "SELECT value FROM xcom WHERE dag_id = 'grouped' AND task_id = 'collect' "
        "AND key = 'return_value'"
    )
    assert collected.value == [22, 26]
