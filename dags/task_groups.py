"""Task groups and edge labels: each source is ingested in its own group, checks and
publishing are groups too (one a ``@task_group`` function), and labels say why each
edge is there. The graph shows each group as one node until it is opened."""

from __future__ import annotations

from datetime import datetime

from engine import DAG, BashOperator, EmptyOperator, Label, TaskGroup, task, task_group


@task
def extract(source: str) -> list[int]:
    return [len(source), 2 * len(source)]


@task
def clean(rows: list[int]) -> list[int]:
    return [row for row in rows if row > 0]


@task
def merge(*parts: list[int]) -> int:
    return sum(sum(part) for part in parts)


@task_group
def publish() -> None:
    """Write the report, then tell its readers."""
    write = BashOperator(task_id="write", bash_command="echo writing the report")
    notify = BashOperator(task_id="notify", bash_command="echo report ready")
    write >> notify


with DAG(
    "task_groups",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["example", "groups"],
    default_args={"retries": 1},
) as task_groups:
    start = EmptyOperator(task_id="start")

    cleaned = []
    for source in ("orders", "users"):
        with TaskGroup(f"ingest_{source}", tooltip=f"Extract and clean {source}") as ingest:
            cleaned.append(clean(extract(source)))
        start >> Label(f"{source} is due") >> ingest

    with TaskGroup("checks", default_args={"retries": 0}) as checks:
        BashOperator(task_id="row_count", bash_command="echo counting rows")
        BashOperator(task_id="freshness", bash_command="echo checking freshness")

    merge(*cleaned) >> Label("merged rows") >> checks >> Label("checks passed") >> publish()
