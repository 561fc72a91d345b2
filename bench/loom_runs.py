"""Loom end to end on PostgreSQL and Redis: a fan-out (of tasks written out, and of one
task mapped over an upstream list) and a chain of no-op tasks.

Workers are real ``loom worker`` processes (``--no-fork``: rq.SimpleWorker, or
``--fork``: rq.Worker); a :class:`~engine.scheduling.scheduler.Scheduler` with an
:class:`~engine.executors.RQExecutor` ticks in this process every
``scheduler.tick_interval``. Time runs from ``trigger_dag``'s commit until the run is
``success`` in the database (the scheduler's "finish runs" step marks it), so a figure
includes the scheduler's tick latency at both ends; the span from the first task's start
to the last task's end is reported next to it.
"""

from __future__ import annotations

import time
from typing import Any

from bench._infra import (
    LOOM,
    REDIS_URL,
    SchedulerThread,
    emit,
    loom_environ,
    parse_into,
    postgres_database,
    processes,
    redis_database,
    task_times,
    temp_dir,
    utcnow,
    wait_for_rq_workers,
    wait_for_run,
    write_dag,
)

FAN_OUT_DAG = """
from datetime import datetime
from engine import DAG, EmptyOperator

with DAG("bench_fan_out", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    start = EmptyOperator(task_id="start")
    end = EmptyOperator(task_id="end")
    for i in range({width}):
        start >> EmptyOperator(task_id=f"t{{i:04d}}") >> end
"""

MAPPED_FAN_OUT_DAG = """
from datetime import datetime
from engine import DAG, task

with DAG("bench_mapped_fan_out", schedule=None, start_date=datetime(2026, 1, 1)) as dag:

    @task
    def make():
        return list(range({width}))

    @task
    def noop(i):
        return None

    @task
    def end(values):
        return None

    end(noop.expand(i=make()))
"""
"""The same shape as :data:`FAN_OUT_DAG` by dynamic task mapping: the scheduler expands
``noop`` into ``width`` instances once ``make`` has returned (one INSERT)."""

CHAIN_DAG = """
from datetime import datetime
from engine import DAG, EmptyOperator
from engine import chain

with DAG("bench_chain", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    chain(*[EmptyOperator(task_id=f"t{{i:03d}}") for i in range({length})])
"""


def run_dag(
    *,
    dag_id: str,
    source: str,
    workers: int,
    fork: bool,
    settings_env: dict[str, str] | None = None,
    timeout: float = 180.0,
) -> dict[str, Any]:
    """Trigger ``dag_id`` once with ``workers`` loom workers; timings of the run."""
    from engine.config import load_settings
    from engine.executors import RQExecutor
    from engine.models.session import create_db_engine, make_session_factory
    from engine.scheduling.scheduler import Scheduler
    from engine.scheduling.wakeup import build_waker
    from engine.services.runs import trigger_dag

    with (
        postgres_database() as url,
        redis_database() as connection,
        temp_dir("loom-bench-run-") as tmp,
    ):
        dags, home, logs = tmp / "dags", tmp / "home", tmp / "logs"
        for folder in (dags, home, logs):
            folder.mkdir()
        write_dag(dags, dag_id, source)
        env = loom_environ(database_url=url, dags_folder=dags, home=home, **(settings_env or {}))
        settings = load_settings(environ=env)
        engine = create_db_engine(url)
        try:
            sessions = make_session_factory(engine)
            parse_into(sessions, dags)
            command = [LOOM, "worker", "--fork" if fork else "--no-fork"]
            with processes([command] * workers, env=env, log_dir=logs):
                wait_for_rq_workers(connection, workers)
                executor = RQExecutor(REDIS_URL)
                scheduler = Scheduler(
                    session_factory=sessions,
                    executor=executor,
                    settings=settings,
                    parse_dags=False,  # parsing is benchmarked on its own (bench.parse_bench)
                    waker=build_waker(url),  # as `loom scheduler` does
                )
                with SchedulerThread(scheduler, settings):
                    with sessions.begin() as session:
                        run = trigger_dag(session=session, dag_id=dag_id, now=utcnow())
                        run_pk = run.id
                    triggered = time.perf_counter()
                    state, done = wait_for_run(sessions, run_pk, timeout)
                executor.stop()
            rows = task_times(sessions, run_pk)
        finally:
            engine.dispose()
    starts = [row[3] for row in rows if row[3] is not None]
    ends = [row[4] for row in rows if row[4] is not None]
    return {
        "state": state,
        "tasks": len(rows),
        "seconds": done - triggered,
        "task_span_seconds": (max(ends) - min(starts)).total_seconds(),
        "parallelism": settings.scheduler.parallelism,
        "tick_interval_seconds": settings.scheduler.tick_interval.total_seconds(),
    }


VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "parallelism_1000": {"LOOM__SCHEDULER__PARALLELISM": "1000"},
}


def fan_out(
    width: int = 1000,
    floor: float | None = None,
    variants: tuple[str, ...] = ("default",),
    *,
    mapped: bool = False,
) -> dict[str, Any]:
    """1 → ``width`` → 1 with 2 in-process workers, on default settings (and, when asked,
    with ``scheduler.parallelism`` raised to 1000: ``variants``); ``mapped``: the middle
    is one task mapped over the first one's list."""
    dag_id, dag = (
        ("bench_mapped_fan_out", MAPPED_FAN_OUT_DAG) if mapped else ("bench_fan_out", FAN_OUT_DAG)
    )
    source = dag.format(width=width)
    benchmark = "fan_out_mapped" if mapped else "fan_out"
    figures: dict[str, Any] = {"benchmark": benchmark, "width": width, "workers": 2}
    for name in variants:
        env = VARIANTS[name]
        result = run_dag(dag_id=dag_id, source=source, workers=2, fork=False, settings_env=env)
        tasks = result["tasks"]
        figures[name] = {
            "state": result["state"],
            "parallelism": result["parallelism"],
            "tick_interval_seconds": result["tick_interval_seconds"],
            "seconds": round(result["seconds"], 3),
            "tasks_per_second": round(tasks / result["seconds"], 1),
            "tasks_per_second_task_span": round(tasks / result["task_span_seconds"], 1),
            "ratio_to_rq_floor": None if not floor else round(tasks / result["seconds"] / floor, 3),
        }
    figures["rq_floor_jobs_per_second"] = floor
    figures["target"] = "tasks_per_second >= 0.6 x rq floor (same worker class, 2 workers)"
    return figures


def chain(length: int = 50) -> dict[str, Any]:
    """A chain of ``length`` tasks: seconds per task in-process and forking (fast-follow)."""
    source = CHAIN_DAG.format(length=length)
    figures: dict[str, Any] = {"benchmark": "chain", "length": length, "workers": 1}
    for name, fork in (("in_process", False), ("forking", True)):
        result = run_dag(dag_id="bench_chain", source=source, workers=1, fork=fork)
        figures[name] = {
            "state": result["state"],
            "seconds": round(result["seconds"], 3),
            "ms_per_task": round(1000 * result["seconds"] / length, 2),
            "ms_per_task_task_span": round(1000 * result["task_span_seconds"] / length, 2),
            "tick_interval_seconds": result["tick_interval_seconds"],
        }
    figures["target"] = {"in_process_ms_per_task": 5, "forking_ms_per_task": 20}
    return figures


def main(floor: float | None = None) -> None:
    emit(fan_out(floor=floor))
    emit(fan_out(floor=floor, mapped=True))
    emit(chain())


if __name__ == "__main__":
    main()
