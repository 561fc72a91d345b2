"""Trigger-to-start latency with a DAG file that hangs at import in the DAG folder.

A :class:`~engine.scheduling.scheduler.Scheduler` that parses (``parse_dags=True``, its
parse loop in a thread beside the ticks, ``core.parse_timeout`` at its default) runs in
this process with an :class:`~engine.executors.RQExecutor` and one ``loom worker
--no-fork`` on PostgreSQL and Redis DB 12. A one-task DAG is triggered ``repeats`` times
while ``hang.py`` is being imported (the figure is kept only for triggers at which the
hanging file's parse was in flight), then as many times with no hanging file. Latency
runs from ``trigger_dag``'s commit to the task's ``start_date`` (both the wall clock of
this machine). When the tick parsed in line, a save of the hanging file stalled every
tick for ``core.parse_timeout`` (30 s), so a trigger waited up to that long.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._infra import (
    LOOM,
    emit,
    loom_site,
    median,
    processes,
    rq_scheduler_thread,
    utcnow,
    wait_for_rq_workers,
    wait_for_run,
    write_dag,
)
from bench.dag_files import dag_file

TARGET_DAG = dag_file(
    "bench_latency",
    """
    @task
    def first():
        return None

    first()
""",
)

HANGING_DAG = """
from engine import DAG  # a DAG file by the looks of it, stuck on a network call, say
import time

while True:
    time.sleep(0.05)
"""

RUN_TIMEOUT_SECONDS = 60.0


def main(repeats: int = 5) -> None:
    emit(latency(repeats))


def latency(repeats: int) -> dict[str, Any]:
    """Trigger-to-start latencies with and without a hanging file; see the module doc."""
    from engine.config import load_settings

    with loom_site("loom-bench-latency-", {"bench_latency": TARGET_DAG}) as site:
        settings = load_settings(environ=site.env)
        with processes([[LOOM, "worker", "--no-fork"]], env=site.env, log_dir=site.logs):
            wait_for_rq_workers(site.redis, 1)
            with rq_scheduler_thread(site, settings) as scheduler:
                hanging = _with_hanging_file(scheduler, site.sessions, site.dags, repeats)
                plain = [_trigger_to_start(site.sessions) for _ in range(repeats)]
    return {
        "benchmark": "trigger_to_start_with_hanging_dag_file",
        "repeats": repeats,
        "parse_timeout_seconds": settings.core.parse_timeout.total_seconds(),
        "tick_interval_seconds": settings.scheduler.tick_interval.total_seconds(),
        "with_hanging_file_ms": _summary(hanging),
        "without_hanging_file_ms": _summary(plain),
        "inline_parsing_worst_case_ms": 1000 * settings.core.parse_timeout.total_seconds(),
    }


def _with_hanging_file(scheduler: Any, sessions: Any, dags: Path, repeats: int) -> list[float]:
    """Latencies of triggers made while ``hang.py``'s parse is in flight."""
    hang = write_dag(dags, "hang", HANGING_DAG)
    loop = scheduler.parse_loop
    latencies: list[float] = []
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS * repeats
    while len(latencies) < repeats and time.monotonic() < deadline:
        if str(hang) not in loop.in_flight:
            time.sleep(0.05)  # not started yet, or timed out: the next save restarts it
            hang.write_text(HANGING_DAG + f"# save {time.time()}\n")
            continue
        figure = _trigger_to_start(sessions)
        if str(hang) in loop.in_flight:  # still hanging when the task started
            latencies.append(figure)
    hang.unlink()
    if len(latencies) < repeats:
        raise RuntimeError(f"only {len(latencies)} triggers overlapped the hanging parse")
    return latencies


def _trigger_to_start(sessions: Any) -> float:
    """Milliseconds from a trigger's commit to its task's start; waits for the run."""
    from engine.services.runs import trigger_dag

    with sessions.begin() as session:
        run = trigger_dag(session=session, dag_id="bench_latency", now=utcnow())
        run_pk = run.id
    triggered = utcnow()
    wait_for_run(sessions, run_pk, RUN_TIMEOUT_SECONDS)
    started = _task_start(sessions, run_pk)
    return 1000 * (started - triggered).total_seconds()


def _task_start(sessions: Any, run_pk: int) -> datetime:
    from engine.models import TaskInstance

    with sessions() as session:
        start = session.scalar(
            sa.select(TaskInstance.start_date).where(TaskInstance.dag_run_id == run_pk)
        )
    if start is None:
        raise RuntimeError(f"dag run {run_pk}: its task never started")
    return start  # type: ignore[no-any-return]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(median(values), 1),
        "max": round(max(values), 1),
        "min": round(min(values), 1),
    }


if __name__ == "__main__":
    main()
