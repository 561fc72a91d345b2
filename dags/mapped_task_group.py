"""A mapped task group: each file found is parsed and checked in its own instance of the
group ("depth-first": ``convert.check[1]`` waits only for ``convert.parse[1]``), and a
report collects every instance's result. One file is skipped by its parse; only its own
check is skipped with it, and the report (``none_failed``) counts the others."""

from __future__ import annotations

from datetime import datetime

from engine import DAG, AirflowSkipException, BashOperator, task, task_group


@task
def find_files() -> list[str]:
    return ["orders.csv", "broken.csv", "refunds.csv"]


@task
def parse(path: str, sep: str) -> list[str]:
    if path.startswith("broken"):
        raise AirflowSkipException(f"{path}: no header line")
    return [f"{path}{sep}row{n}" for n in range(3)]


@task
def check(rows: list[str]) -> int:
    return len(rows)


@task_group
def convert(path: str, sep: str) -> object:
    """Parse one file, announce it, then check its rows."""
    rows = parse(path, sep)
    BashOperator(task_id="announce", bash_command="echo converting {{ ti.map_index }}")
    return check(rows)


@task(trigger_rule="none_failed")
def report(counts: list[int]) -> str:
    return f"{len(counts)} file(s) converted, {sum(counts)} row(s)"


with DAG(
    "mapped_task_group",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["example", "mapping"],
):
    report(convert.partial(sep=";").expand(path=find_files()))
