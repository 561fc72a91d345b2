"""Parse time for 1,000 generated DAG files, and how fast a changed file is seen again.

The change part runs :func:`engine.parser.refresh_dags` against a fresh PostgreSQL
database: a first refresh stores all files, then one file is modified and the next
refresh (the one the scheduler runs every ``scheduler.parse_interval``) must report it.
A change is seen at worst ``parse_interval`` + that refresh's duration after it is made
(on average half the interval plus the refresh).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench._infra import emit, postgres_database, utcnow
from engine.parser import ParseOptions, parse_folder

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
        results = parse_folder(ParseOptions(folder, timeout=30, parallelism=parallelism))
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
    figures.update(change_detection(count))
    figures["target"] = {"seconds": 10, "change_seen_worst_case_seconds": 2}
    return emit(figures)


def change_detection(count: int) -> dict[str, object]:
    """Refresh the folder into PostgreSQL, change one file, time the refresh that sees it."""
    from engine.config import SchedulerSettings
    from engine.models.session import create_db_engine, make_session_factory
    from engine.parser import refresh_dags

    parallelism = os.cpu_count() or 2
    interval = SchedulerSettings().parse_interval.total_seconds()
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as url:
        folder = Path(tmp)
        write_files(folder, count)
        engine = create_db_engine(url)
        try:
            sessions = make_session_factory(engine)

            options = ParseOptions(folder, timeout=30, parallelism=parallelism)

            def refresh() -> tuple[float, object]:
                started = time.perf_counter()
                with sessions.begin() as session:
                    report = refresh_dags(session=session, options=options, now=utcnow())
                return time.perf_counter() - started, report

            first, _ = refresh()
            unchanged, _ = refresh()
            changed = folder / "dag_0007.py"
            changed.write_text(changed.read_text().replace("range(5)", "range(6)"))
            one_changed, report = refresh()
        finally:
            engine.dispose()
    seen = str(changed) in getattr(report, "parsed", []) and "generated_7" in getattr(
        report, "dags_updated", []
    )
    return {
        "first_refresh_seconds": round(first, 3),
        "unchanged_refresh_seconds": round(unchanged, 3),
        "one_changed_refresh_seconds": round(one_changed, 3),
        "change_reported": seen,
        "parse_interval_seconds": interval,
        "change_seen_worst_case_seconds": round(interval + one_changed, 3),
        "change_seen_mean_seconds": round(interval / 2 + one_changed, 3),
    }


if __name__ == "__main__":
    main()
