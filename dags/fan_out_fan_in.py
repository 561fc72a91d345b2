"""Fan-out to parallel partitions and fan-in to one summary, with priorities."""

from __future__ import annotations

from datetime import datetime

from engine import DAG, EmptyOperator, chain, task

PARTITIONS = ["north", "south", "east", "west", "central"]

with DAG(
    "fan_out_fan_in",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    tags=["example", "parallel"],
    max_active_tasks=8,
) as fan_out_fan_in:
    start = EmptyOperator(task_id="start")

    @task(priority_weight=10)
    def process(partition: str) -> int:
        return len(partition) * 100

    @task(priority="high")
    def summarize(counts: list[int]) -> int:
        total = sum(counts)
        print(f"{len(counts)} partitions, {total} rows")
        return total

    counts = [process.override(task_id=f"process_{p}")(p) for p in PARTITIONS]
    done = EmptyOperator(task_id="done", priority="low")
    chain(start, counts)
    summarize(counts) >> done
