"""The DAG files Airflow runs in the side-by-side benchmark, written for this benchmark.

The same shapes as Loom's :mod:`bench.loom_runs` (``@task`` no-ops: a chain, and a
fan-out 1 → ``width`` → 1), with Airflow 3's imports.
"""

from __future__ import annotations

CHAIN_DAG_ID = "side_by_side_chain"
FAN_OUT_DAG_ID = "side_by_side_fan_out"

CHAIN = """
from datetime import datetime
from airflow.sdk import DAG, chain, task

with DAG("side_by_side_chain", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):

    @task
    def noop():
        return None

    chain(*[noop.override(task_id=f"t{{i:03d}}")() for i in range({length})])
"""

FAN_OUT = """
from datetime import datetime
from airflow.sdk import DAG, task

with DAG("side_by_side_fan_out", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):

    @task
    def noop():
        return None

    start = noop.override(task_id="start")()
    end = noop.override(task_id="end")()
    for i in range({width}):
        start >> noop.override(task_id=f"t{{i:04d}}")() >> end
"""
