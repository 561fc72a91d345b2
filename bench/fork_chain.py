"""A chain of ``@task`` no-ops through one real ``loom worker``, forking and in-process.

EmptyOperators are settled by the scheduler without a worker, so :func:`bench.loom_runs.chain`
does not show what a forking worker costs per try; a ``@task`` that returns at once does.
Prints one JSON line: ms per task from trigger to run success, and over the tasks' own span.

    PYTHONPATH=. .venv/bin/python -m bench.fork_chain [length]
"""

from __future__ import annotations

import sys
from typing import Any

from bench._infra import emit
from bench.loom_runs import run_dag

TASK_CHAIN_DAG = """
from datetime import datetime
from engine import DAG, task

with DAG("bench_task_chain", schedule=None, start_date=datetime(2026, 1, 1)) as dag:

    @task
    def noop(value=None):
        return None

    value = None
    for i in range({length}):
        value = noop.override(task_id=f"t{{i:03d}}")(value)
"""


def task_chain(length: int = 30) -> dict[str, Any]:
    """``length`` chained ``@task`` no-ops on one worker; ms per task, forking and not."""
    source = TASK_CHAIN_DAG.format(length=length)
    figures: dict[str, Any] = {"benchmark": "task_chain", "length": length, "workers": 1}
    for name, fork in (("forking", True), ("in_process", False)):
        result = run_dag(dag_id="bench_task_chain", source=source, workers=1, fork=fork)
        figures[name] = {
            "state": result["state"],
            "tasks": result["tasks"],
            "ms_per_task": round(1000 * result["seconds"] / length, 2),
            "ms_per_task_task_span": round(1000 * result["task_span_seconds"] / length, 2),
        }
    figures["target"] = {"forking_ms_per_task": 20}
    return figures


if __name__ == "__main__":
    emit(task_chain(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
