"""A chain of no-op tasks: what the statements-per-try test runs."""

from __future__ import annotations

from datetime import datetime

from engine import DAG, chain, task

with DAG("chain", schedule=None, start_date=datetime(2026, 1, 1)) as dag:

    @task
    def noop() -> None:
        return None

    chain(*[noop.override(task_id=f"t{i}")() for i in range(4)])

with DAG("fan", schedule=None, start_date=datetime(2026, 1, 1), max_active_tasks=3) as fan:

    @task
    def step() -> None:
        return None

    leaves = [step.override(task_id=f"leaf{i}")() for i in range(5)]
    step.override(task_id="root")() >> leaves >> step.override(task_id="join")()
