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
    emit,
    loom_site,
    processes,
    rq_scheduler_thread,
    task_times,
    utcnow,
    wait_for_rq_workers,
    wait_for_run,
)
from bench.dag_files import CHAIN, FAN_OUT, dag_file
from bench.repeat import median_of, spread, words

FAN_OUT_DAG = dag_file("bench_fan_out", FAN_OUT)
"""1 → ``width`` → 1 of ``@task`` no-ops: every task is a worker's try. (EmptyOperators
would be finished by the scheduler without a worker, measuring the scheduler instead.)"""

MAPPED_FAN_OUT_DAG = dag_file(
    "bench_mapped_fan_out",
    """
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
""",
)
"""The same shape as :data:`FAN_OUT_DAG` by dynamic task mapping: the scheduler expands
``noop`` into ``width`` instances once ``make`` has returned (one INSERT)."""

CHAIN_DAG = dag_file("bench_chain", CHAIN, names="DAG, chain, task")
"""A chain of ``@task`` no-ops: each try's success fast-follows the next one."""

TASK_KIND = "@task no-op (a worker try each)"


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
    from engine.services.runs import trigger_dag

    with loom_site("loom-bench-run-", {dag_id: source}, settings_env) as site:
        settings = load_settings(environ=site.env)
        command = [LOOM, "worker", "--fork" if fork else "--no-fork"]
        with processes([command] * workers, env=site.env, log_dir=site.logs):
            wait_for_rq_workers(site.redis, workers)
            # parse_dags=False: parsing is benchmarked on its own (bench.parse_bench)
            with rq_scheduler_thread(site, settings, parse_dags=False):
                with site.sessions.begin() as session:
                    run = trigger_dag(session=session, dag_id=dag_id, now=utcnow())
                    run_pk = run.id
                triggered = time.perf_counter()
                state, done = wait_for_run(site.sessions, run_pk, timeout)
        rows = task_times(site.sessions, run_pk)
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


def fan_out_once(
    width: int = 1000, *, mapped: bool = False, variant: str = "default"
) -> dict[str, Any]:
    """One repetition of 1 → ``width`` → 1 with 2 in-process workers; ``mapped``: the
    middle is one task mapped over the first one's list; ``variant``: settings
    (:data:`VARIANTS`)."""
    dag_id, dag = (
        ("bench_mapped_fan_out", MAPPED_FAN_OUT_DAG) if mapped else ("bench_fan_out", FAN_OUT_DAG)
    )
    result = run_dag(
        dag_id=dag_id,
        source=dag.format(width=width),
        workers=2,
        fork=False,
        settings_env=VARIANTS[variant],
    )
    return {**result, "tasks_per_second": result["tasks"] / result["seconds"]}


def chain_once(length: int = 50, *, fork: bool) -> dict[str, Any]:
    """One repetition of a chain of ``length`` tasks with one worker (fast-follow)."""
    result = run_dag(
        dag_id="bench_chain", source=CHAIN_DAG.format(length=length), workers=1, fork=fork
    )
    return {
        **result,
        "ms_per_task": 1000 * result["seconds"] / length,
        "ms_per_task_task_span": 1000 * result["task_span_seconds"] / length,
    }


def fan_out_figures(
    samples: list[dict[str, Any]], *, width: int, mapped: bool, floor: float | None
) -> dict[str, Any]:
    """The fan-out's line: medians with their spread; the ratio from the medians."""
    rate = spread([s["tasks_per_second"] for s in samples], 1)
    span_rate = spread([s["tasks"] / s["task_span_seconds"] for s in samples], 1)
    return {
        "benchmark": "fan_out_mapped" if mapped else "fan_out",
        "task_kind": TASK_KIND,
        "width": width,
        "workers": 2,
        "states": words(samples, "state"),
        "parallelism": samples[0]["parallelism"],
        "tick_interval_seconds": samples[0]["tick_interval_seconds"],
        "tasks_per_second": rate["median"],
        "tasks_per_second_spread": rate,
        "tasks_per_second_task_span": span_rate["median"],
        "seconds_spread": spread([s["seconds"] for s in samples]),
        "rq_floor_jobs_per_second": floor,
        "ratio_to_rq_floor": round(float(rate["median"]) / floor, 3) if floor else None,
        "target": "tasks_per_second >= 0.6 x rq floor (same worker class, 2 workers)",
    }


def chain_figures(
    in_process: list[dict[str, Any]], forking: list[dict[str, Any]], *, length: int
) -> dict[str, Any]:
    """The chain's line: ms per task in-process and forking, medians with their spread."""
    figures: dict[str, Any] = {
        "benchmark": "chain",
        "task_kind": TASK_KIND,
        "length": length,
        "workers": 1,
    }
    for name, samples in (("in_process", in_process), ("forking", forking)):
        if not samples:
            figures[name] = None
            continue
        per_task = spread([s["ms_per_task"] for s in samples], 2)
        figures[name] = {
            "states": words(samples, "state"),
            "ms_per_task": per_task["median"],
            "ms_per_task_spread": per_task,
            "ms_per_task_task_span": round(median_of(samples, "ms_per_task_task_span"), 2),
            "tick_interval_seconds": samples[0]["tick_interval_seconds"],
        }
    figures["target"] = {"in_process_ms_per_task": 5, "forking_ms_per_task": 20}
    return figures


def main(floor: float | None = None) -> None:
    """One repetition of each (``python -m bench.loom_runs``); ``make bench`` interleaves
    three with the floor."""
    emit(fan_out_figures([fan_out_once()], width=1000, mapped=False, floor=floor))
    emit(fan_out_figures([fan_out_once(mapped=True)], width=1000, mapped=True, floor=floor))
    emit(chain_figures([chain_once(fork=False)], [chain_once(fork=True)], length=50))


if __name__ == "__main__":
    main()
