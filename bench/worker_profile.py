"""Where a ``loom worker --no-fork`` spends its CPU in a fan-out of ``@task`` no-ops.

Real worker processes (one by default; RQ executor, PostgreSQL, the benchmarks' Redis
DB, the scheduler ticking in this process) run every try of a 1 → ``width`` → 1 fan-out,
after a small warm-up run (:data:`WARM_UP_DAG`), while py-spy samples them from outside
(``py-spy record --format raw --threads --gil --nonblocking``: only a thread holding the
GIL gives a sample, so a thread waiting on a socket, a lock or for a CPU costs none; the
worker is never paused). The workers' CPU time (user + system, every thread, ended ones
too, from ``/proc``) between the trigger and the run's success, divided by the tasks, is
the figure; the samples split it into named parts by the frames on their stacks
(:data:`PARTS`). CPU spent without the GIL (system calls) is spread over the parts in
proportion. CPU time, not wall time: the figure and its proportions hold on a loaded
machine.

``python -m bench.worker_profile [--width 1000] [--workers 1] [--rate 250] [--keep PATH]``
prints one JSON line (about 40 s at 1,000); ``--keep`` saves the raw samples (collapsed
stacks). It needs py-spy in the venv (``.venv/bin/pip install py-spy``; not a dependency).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._infra import (
    LOOM,
    PYTHON,
    REDIS_URL,
    SchedulerThread,
    emit,
    loom_environ,
    parse_into,
    postgres_database,
    processes,
    redis_database,
    temp_dir,
    utcnow,
    wait_for_rq_workers,
    wait_for_run,
    write_dag,
)
from bench.loom_runs import FAN_OUT_DAG, MAPPED_FAN_OUT_DAG

WARM_UP_DAG = """
from datetime import datetime
from engine import DAG, task

with DAG("bench_warm_up", schedule=None, start_date=datetime(2026, 1, 1)) as dag:

    @task
    def noop():
        return None

    noop.override(task_id="start")() >> [noop.override(task_id=f"t{i}")() for i in range(8)]
"""
"""Run before the measured fan-out, so that what a worker does once (importing Jinja2
and the plugins, compiling its SQL) is not counted; importing the fan-out's own DAG file
and reading its graph (once per worker) are, as parts of their own."""

PY_SPY = str(Path(PYTHON).with_name("py-spy"))

PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Cross-cutting first: a metric or a log line inside the claim counts here.
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("logging", ("logging/__init__.py", "processlog.py")),
    # The try's threads, by their own frames.
    ("heartbeat thread", ("heartbeat.py",)),
    ("log streaming thread", ("logstream.py",)),
    ("try threads: start, join", ("periodic.py", "threading.py:Thread._bootstrap")),
    # Inside the try (workers.runner.run_task).
    # Once per worker and DAG version (a long-lived worker pays them once).
    ("DAG file import (once per worker)", ("inprocess.py:import_dags",)),
    ("DAG graph from JSON (once per worker)", ("SerializedDAG.from_dict",)),
    # The fast-follow, in the finish's transaction: a leaf's check of the join, and the
    # settling of the start's 1,000 leaves (one statement each) and of the join.
    ("fast-follow: fan-in check", ("fanin.py",)),
    ("fast-follow: settle (start, join)", ("followup.py",)),
    ("claim (SQL)", ("claim.py",)),
    ("finish (SQL)", ("finish.py", "durablefinish.py")),
    ("DAG file cache lookup (file hash)", ("dagcache.py",)),
    ("plugins check", ("loading.py:load_plugins",)),
    ("task context (build_context)", ("context.py:build_context",)),
    ("task execution (run_attempt)", ("attempt.py:run_attempt",)),
    ("log capture", ("logcapture.py",)),
    ("listeners", ("listeners.py",)),
    ("runner: rest of the try", ("runner.py", "workers/attempt.py")),
    ("job function setup (run_job)", ("entry.py",)),
    # RQ around the job.
    ("RQ: job start (status, registries)", ("prepare_job_execution", "prepare_execution")),
    ("RQ: job success (result, registries)", ("handle_job_success", "handle_execution_ended")),
    ("RQ: dequeue", ("dequeue_job_and_maintain_ttl", "dequeue_any")),
    ("RQ: worker heartbeat, maintenance", ("maintain_heartbeats", "run_maintenance_tasks")),
    ("RQ: command listener (pubsub)", ("pubsub", "client.py:run")),
    ("RQ: other job handling", ("rq/",)),
)
"""Named parts of the worker's CPU: (name, substrings of a frame, ``path:function``); a
sample counts for the first part with a frame on its stack. Samples whose stack was read
torn (``--nonblocking``: only the innermost frames) match none: ``unattributed``."""


def classify(stack: list[str]) -> str:
    """The part of ``stack`` (outermost frame first)."""
    for name, needles in PARTS:
        for frame in reversed(stack):  # innermost first: the most specific frame decides
            if any(needle in frame for needle in needles):
                return name
    return "unattributed (torn stack)"


def _frames(line: str) -> tuple[list[str], int]:
    """A raw py-spy line (``frame;frame;... count``) as frames (``file.py:function``)."""
    stack, _, count = line.rpartition(" ")
    frames = []
    for frame in stack.split(";"):
        # "function (path/file.py:line)"
        function, _, where = frame.partition(" (")
        path = where.rsplit(":", 1)[0]
        frames.append(f"{path}:{function}")
    return frames, int(count)


def split_samples(raw: str) -> Counter[str]:
    """Sample counts by part."""
    parts: Counter[str] = Counter()
    for line in raw.splitlines():
        if line.strip():
            frames, count = _frames(line)
            parts[classify(frames)] += count
    return parts


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` (all its threads, living or ended)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int, *, besides: int) -> float:
    """CPU of the other processes of process group ``pgid`` (RQ's scheduler process)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == besides:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def profile(
    width: int, rate: int, workers: int = 1, keep: Path | None = None, *, mapped: bool = False
) -> dict[str, Any]:
    """Run the fan-out (``mapped``: its middle one task mapped over a list) on ``workers``
    sampled workers; their CPU per task, split."""
    if not Path(PY_SPY).exists():
        raise SystemExit(f"{PY_SPY} is missing: .venv/bin/pip install py-spy")
    from engine.config import load_settings
    from engine.models.session import create_db_engine, make_session_factory

    with (
        postgres_database() as url,
        redis_database() as connection,
        temp_dir("loom-bench-wprof-") as tmp,
    ):
        dags, home, logs = tmp / "dags", tmp / "home", tmp / "logs"
        for folder in (dags, home, logs):
            folder.mkdir()
        dag_id, source = (
            ("bench_mapped_fan_out", MAPPED_FAN_OUT_DAG)
            if mapped
            else ("bench_fan_out", FAN_OUT_DAG)
        )
        write_dag(dags, dag_id, source.format(width=width))
        write_dag(dags, "bench_warm_up", WARM_UP_DAG)
        env = loom_environ(database_url=url, dags_folder=dags, home=home)
        settings = load_settings(environ=env)
        engine = create_db_engine(url)
        try:
            sessions = make_session_factory(engine)
            parse_into(sessions, dags)
            command = [LOOM, "worker", "--no-fork"]
            with processes([command] * workers, env=env, log_dir=logs) as started:
                wait_for_rq_workers(connection, workers)
                pids = [proc.pid for proc in started]
                with sampled(pids, rate, tmp) as samples:
                    run = run_fan_out(sessions, settings, url, pids, dag_id)
            raw = "".join(path.read_text() for path in samples)
            if keep is not None:
                keep.write_text(raw)
        finally:
            engine.dispose()
    return {"mapped": mapped, **figures(run, raw, width=width, rate=rate, workers=workers)}


@contextlib.contextmanager
def sampled(pids: list[int], rate: int, folder: Path) -> Iterator[list[Path]]:
    """py-spy attached to each of ``pids`` inside the block; the raw sample files."""
    paths = [folder / f"samples-{pid}.txt" for pid in pids]
    spies = [
        subprocess.Popen(
            [
                PY_SPY,
                "record",
                "--format",
                "raw",
                "--threads",
                "--nonblocking",
                "--gil",
                "--rate",
                str(rate),
                "-o",
                str(path),
                "-p",
                str(pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid, path in zip(pids, paths, strict=True)
    ]
    time.sleep(1.0)  # attached
    try:
        yield paths
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file and exits
        for spy in spies:
            spy.wait(timeout=60)


def run_fan_out(
    sessions: Any, settings: Any, url: str, pids: list[int], dag_id: str
) -> dict[str, Any]:
    """Trigger the fan-out with the scheduler ticking here; the workers' CPU meanwhile."""
    from engine.executors import RQExecutor
    from engine.scheduling.scheduler import Scheduler
    from engine.scheduling.wakeup import build_waker

    executor = RQExecutor(REDIS_URL)
    scheduler = Scheduler(
        session_factory=sessions,
        executor=executor,
        settings=settings,
        parse_dags=False,  # parsed once before: the workers' figure is wanted here
        waker=build_waker(url),  # as `loom scheduler` does
    )
    with SchedulerThread(scheduler, settings):
        _trigger_and_wait(sessions, "bench_warm_up")
        before = [cpu_seconds(pid) for pid in pids], _rq_schedulers(pids)
        triggered = time.perf_counter()
        state, done = _trigger_and_wait(sessions, dag_id)
        cpu = [cpu_seconds(pid) - was for pid, was in zip(pids, before[0], strict=True)]
        others = _rq_schedulers(pids) - before[1]
    executor.stop()
    return {"state": state, "seconds": done - triggered, "cpu": cpu, "others": others}


def _trigger_and_wait(sessions: Any, dag_id: str) -> tuple[str, float]:
    from engine.services.runs import trigger_dag

    with sessions.begin() as session:
        run_pk = trigger_dag(session=session, dag_id=dag_id, now=utcnow()).id
    return wait_for_run(sessions, run_pk, timeout=600)


def _rq_schedulers(pids: list[int]) -> float:
    return sum(group_cpu_seconds(pid, besides=pid) for pid in pids)


def figures(
    run: dict[str, Any], raw: str, *, width: int, rate: int, workers: int
) -> dict[str, Any]:
    """The JSON line: CPU per task of the workers, and its split by the samples."""
    tasks = width + 2
    parts = split_samples(raw)
    samples = sum(parts.values())
    ms_per_task = 1000 * sum(run["cpu"]) / tasks
    return {
        "benchmark": "worker_profile",
        "task_kind": "@task no-op (a worker try each)",
        "width": width,
        "workers": workers,
        "state": run["state"],
        "tasks": tasks,
        "wall_seconds": round(run["seconds"], 2),
        "cpu_ms_per_task": round(ms_per_task, 2),
        "cpu_seconds_by_worker": [round(value, 2) for value in run["cpu"]],
        "rq_scheduler_processes_cpu_ms_per_task": round(1000 * run["others"] / tasks, 3),
        "samples": samples,
        "sample_rate_hz": rate,
        "split_cpu_ms_per_task": {
            name: round(ms_per_task * count / samples, 2) for name, count in parts.most_common()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--mapped", action="store_true", help="the mapped fan-out instead")
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--keep", type=Path, default=None, help="save the raw samples here")
    args = parser.parse_args()
    emit(profile(args.width, args.rate, args.workers, args.keep, mapped=args.mapped))


if __name__ == "__main__":
    main()
