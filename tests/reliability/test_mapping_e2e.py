"""Dynamic task mapping with real processes: ``loom scheduler`` and two ``loom worker``s
on PostgreSQL and Redis database 9 (this module's own).

The scheduler expands a task over what its upstream returned on a worker; each instance
runs, fails and is limited on its own; downstream tasks see every instance.
"""

from __future__ import annotations

import itertools

import pytest

from tests.reliability.conftest import Loom, loom_on_redis
from tests.support.services import redis_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

loom = loom_on_redis(redis_url(9))


MAPPED_DAG = """
import time
from datetime import datetime
from engine import DAG, task

with DAG("mapped", schedule=None, start_date=datetime(2026, 1, 1)):
    @task
    def make():
        return [1, 2, 3, 4]

    @task(max_active_tis_per_dag=1)
    def add(x, y):
        time.sleep(0.3)  # long enough for two free workers to overlap, were it allowed
        if x == 3:
            raise ValueError("three is refused")
        return x + y

    @task(trigger_rule="all_done")
    def collect(values):
        return sorted(values)

    @task
    def strict(values):
        return len(values)

    added = add.partial(y=10).expand(x=make())
    collect(added)
    strict(added)
"""


def test_a_mapped_task_expands_runs_each_instance_and_is_collected(loom: Loom) -> None:
    loom.add_dag("mapped", MAPPED_DAG)
    loom.reparse()
    loom.scheduler()
    loom.worker(name="worker-1")
    loom.worker(name="worker-2")
    loom.trigger("mapped", "--run-id", "r")

    assert loom.wait_runs("mapped", 1, timeout=90) == {"r": "failed"}

    rows = loom.db.rows(
        "SELECT task_id, map_index, state, start_date, end_date FROM task_instance "
        "WHERE dag_id = 'mapped' ORDER BY task_id, map_index"
    )
    states = {(row.task_id, row.map_index): row.state for row in rows}
    assert states == {
        ("make", -1): "success",
        ("add", 0): "success",
        ("add", 1): "success",
        ("add", 2): "failed",
        ("add", 3): "success",
        ("collect", -1): "success",
        ("strict", -1): "upstream_failed",
    }
    # max_active_tis_per_dag=1 held across the expanded instances: no two overlapped.
    spans = sorted((row.start_date, row.end_date) for row in rows if row.task_id == "add")
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    [collected] = loom.db.rows(
        "SELECT value FROM xcom WHERE dag_id = 'mapped' AND task_id = 'collect' "
        "AND key = 'return_value'"
    )
    assert collected.value == [11, 12, 14]
