"""Dynamic task mapping: one task becomes as many instances as its input has values, decided
while the run runs. The grid shows each mapped task with its count ("[3]") and a summary
of its instances' states; clicking its cell lists every map index.
"""

from __future__ import annotations

from datetime import datetime

from engine import DAG, BashOperator, task


@task
def list_files() -> list[str]:
    """Known only at run time: the expansion follows what this returns."""
    return ["orders.csv", "users.csv", "events.csv"]


@task
def list_archives() -> list[str]:
    return ["2024.tar", "2025.tar"]


@task
def count_rows(filename: str) -> int:
    """One instance per file (map index 0, 1, 2)."""
    return len(filename) * 10


@task
def total(counts: list[int]) -> int:
    """Downstream of a mapped task: receives every instance's value, in map index order."""
    print(f"rows per file: {list(counts)}")
    return sum(counts)


@task
def copy(source: str, target: str) -> str:
    return f"{source} -> {target}"


@task
def shout(line: str) -> str:
    return line.upper()


@task
def announce(names: list[str]) -> None:
    print(f"names: {list(names)}")


def as_line(count: int) -> str:
    """Applied to each value of ``count_rows`` as it is read (``.map``): runs in the
    instance that reads it, never in the scheduler."""
    return f"{count} rows"


with DAG(
    "dynamic_mapping",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["example", "mapping"],
) as dynamic_mapping:
    files = list_files()
    counts = count_rows.expand(filename=files)
    total(counts)

    # A classic operator over literals: the fixed arguments in .partial(), the mapped in .expand().
    BashOperator.partial(task_id="greet", retries=1).expand(
        bash_command=["echo hello", "echo bonjour", "echo hallo"]
    )

    # Several arguments per instance, one dict each.
    copy.expand_kwargs(
        [
            {"source": "a.csv", "target": "archive/a.csv"},
            {"source": "b.csv", "target": "archive/b.csv"},
        ]
    )

    # Each upstream value transformed on its way in.
    shout.expand(line=counts.map(as_line))

    # Two upstream lists mapped over as one (.concat): 3 files + 2 archives = 5 instances.
    announce(shout.override(task_id="shout_names").expand(line=files.concat(list_archives())))
