"""The DAG files of ``@task`` no-ops that the end-to-end benchmarks run, on Loom
(:mod:`bench.loom_runs`, :mod:`bench.worker_profile`, :mod:`bench.parse_latency_bench`)
and on Airflow (:mod:`bench.airflow.shapes`): one header, and each shape's body once.

A body is indented for the ``with DAG(...)`` block; its ``{width}`` or ``{length}`` is
filled in by ``str.format`` when the file is written (its own braces are doubled).
"""

from __future__ import annotations

NOOP = """
    @task
    def noop():
        return None
"""
"""The one task every shape is made of: a worker's try that does nothing."""

FAN_OUT = (
    NOOP
    + """
    start = noop.override(task_id="start")()
    end = noop.override(task_id="end")()
    for i in range({width}):
        start >> noop.override(task_id=f"t{{i:04d}}")() >> end
"""
)
"""1 → ``width`` → 1."""

CHAIN = (
    NOOP
    + """
    chain(*[noop.override(task_id=f"t{{i:03d}}")() for i in range({length})])
"""
)
"""``length`` tasks one after the other (the file must import ``chain``)."""


def dag_file(
    dag_id: str, body: str, *, sdk: str = "engine", names: str = "DAG, task", options: str = ""
) -> str:
    """A DAG file: ``names`` imported from ``sdk`` (``engine`` or Airflow's
    ``airflow.sdk``), and DAG ``dag_id`` (unscheduled, ``options`` appended to its
    arguments) whose block is ``body``."""
    return f"""
from datetime import datetime
from {sdk} import {names}

with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1){options}) as dag:
{body}"""
