"""Parse time for 1,000 generated DAG files, and how fast a changed file is seen again."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from engine.parser import parse_folder

TEMPLATE = """
from datetime import datetime
from engine import DAG, BashOperator, EmptyOperator

with DAG("generated_{n}", schedule="@daily", start_date=datetime(2026, 1, 1)) as dag:
    start = EmptyOperator(task_id="start")
    for i in range(5):
        start >> BashOperator(task_id=f"step_{{i}}", bash_command="echo {{{{ ds }}}}")
"""


def write_files(folder: Path, count: int) -> None:
    for n in range(count):
        (folder / f"dag_{n:04d}.py").write_text(TEMPLATE.format(n=n))


def main(count: int = 1000) -> dict[str, object]:
    parallelism = os.cpu_count() or 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_files(folder, count)
        started = time.perf_counter()
        results = parse_folder(folder, timeout=30, parallelism=parallelism)
        elapsed = time.perf_counter() - started
        dags = sum(len(r.dags) for r in results)
        errors = sum(len(r.errors) for r in results)
    figures: dict[str, object] = {
        "benchmark": "parse",
        "files": count,
        "dags": dags,
        "errors": errors,
        "seconds": round(elapsed, 3),
        "files_per_second": round(count / elapsed, 1),
        "parallelism": parallelism,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
