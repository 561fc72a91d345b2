"""Where a ``loom worker --no-fork`` spends its CPU in a fan-out of ``@task`` no-ops.

One real worker process (RQ executor, PostgreSQL, Redis DB of the benchmarks, the
scheduler ticking in this process) runs every try of a 1 → ``width`` → 1 fan-out while
py-spy samples it from outside (``py-spy record --format raw --threads --gil
--nonblocking``: only a thread holding the GIL gives a sample, so a thread waiting on a
socket, a lock or for a CPU costs none; the worker is never paused). The worker's CPU
time (user + system, every thread, ended ones too, from ``/proc``) between the trigger
and the run's success, divided by the tasks, is the figure; the samples split it into
named parts by the frames on their stacks (:data:`PARTS`). CPU spent without the GIL
(system calls) is spread over the parts in proportion. CPU time, not wall time: the
figure and its proportions hold on a loaded machine.

``python -m bench.worker_profile [--width 1000] [--rate 250] [--keep PATH]`` prints one
JSON line (about 30 s at 1,000); ``--keep`` saves the raw samples (collapsed stacks). It
needs py-spy in the venv (``.venv/bin/pip install py-spy``; it is not a dependency).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
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
from bench.loom_runs import FAN_OUT_DAG

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
    ("fast-follow (in the finish's transaction)", ("followup.py", "fanin.py")),
    ("claim (SQL, graph from cache)", ("claim.py",)),
    ("finish (SQL)", ("finish.py", "durablefinish.py")),
    ("DAG lookup (cache)", ("dagcache.py",)),
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


def profile(width: int, rate: int, keep: Path | None = None) -> dict[str, Any]:
    """Run the fan-out on one sampled worker; its CPU per task, split."""
    if not Path(PY_SPY).exists():
        raise SystemExit(f"{PY_SPY} is missing: .venv/bin/pip install py-spy")
    from engine.config import load_settings
    from engine.executors import RQExecutor
    from engine.models.session import create_db_engine, make_session_factory
    from engine.scheduling.scheduler import Scheduler
    from engine.scheduling.wakeup import build_waker
    from engine.services.runs import trigger_dag

    with (
        postgres_database() as url,
        redis_database() as connection,
        temp_dir("loom-bench-wprof-") as tmp,
    ):
        dags, home, logs = tmp / "dags", tmp / "home", tmp / "logs"
        for folder in (dags, home, logs):
            folder.mkdir()
        write_dag(dags, "bench_fan_out", FAN_OUT_DAG.format(width=width))
        env = loom_environ(database_url=url, dags_folder=dags, home=home)
        settings = load_settings(environ=env)
        engine = create_db_engine(url)
        raw_path = tmp / "samples.txt"
        try:
            sessions = make_session_factory(engine)
            parse_into(sessions, dags)
            with processes([[LOOM, "worker", "--no-fork"]], env=env, log_dir=logs) as started:
                worker = started[0]
                wait_for_rq_workers(connection, 1)
                spy = subprocess.Popen(
                    [PY_SPY, "record", "--format", "raw", "--threads", "--nonblocking", "--gil",
                     "--rate", str(rate), "-o", str(raw_path), "-p", str(worker.pid)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                time.sleep(1.0)  # attached
                executor = RQExecutor(REDIS_URL)
                scheduler = Scheduler(
                    session_factory=sessions,
                    executor=executor,
                    settings=settings,
                    parse_dags=False,
                    waker=build_waker(url),
                )
                with SchedulerThread(scheduler, settings):
                    cpu_before = cpu_seconds(worker.pid)
                    others_before = group_cpu_seconds(worker.pid, besides=worker.pid)
                    with sessions.begin() as session:
                        run_pk = trigger_dag(
                            session=session, dag_id="bench_fan_out", now=utcnow()
                        ).id
                    triggered = time.perf_counter()
                    state, done = wait_for_run(sessions, run_pk, timeout=600)
                    cpu = cpu_seconds(worker.pid) - cpu_before
                    others = group_cpu_seconds(worker.pid, besides=worker.pid) - others_before
                executor.stop()
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            raw = raw_path.read_text()
            if keep is not None:
                shutil.copyfile(raw_path, keep)
        finally:
            engine.dispose()
    tasks = width + 2
    parts = split_samples(raw)
    samples = sum(parts.values())
    ms_per_task = 1000 * cpu / tasks
    return {
        "benchmark": "worker_profile",
        "task_kind": "@task no-op (a worker try each)",
        "width": width,
        "workers": 1,
        "state": state,
        "tasks": tasks,
        "wall_seconds": round(done - triggered, 2),
        "cpu_ms_per_task": round(ms_per_task, 2),
        "rq_scheduler_process_cpu_ms_per_task": round(1000 * others / tasks, 3),
        "samples": samples,
        "sample_rate_hz": rate,
        "split_cpu_ms_per_task": {
            name: round(ms_per_task * count / samples, 2) for name, count in parts.most_common()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--keep", type=Path, default=None, help="save the raw samples here")
    args = parser.parse_args()
    emit(profile(args.width, args.rate, args.keep))


if __name__ == "__main__":
    main()
