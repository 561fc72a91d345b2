"""Where ``loom worker --no-fork`` and ``loom scheduler`` spend their CPU in a fan-out of
``@task`` no-ops.

Real processes (one worker by default, and a scheduler; RQ executor, PostgreSQL, the
benchmarks' Redis DB) run every try of a 1 → ``width`` → 1 fan-out, after a small
warm-up run (:data:`WARM_UP_DAG`), while py-spy samples the workers, the scheduler or
both (``--sample``) from outside (``py-spy record --format raw --threads --gil
--nonblocking``: only a thread holding the GIL gives a sample, so a thread waiting on a
socket, a lock or for a CPU costs none; the process is never paused). Each process's CPU
time (user + system, every thread, ended ones too, from ``/proc``) between the trigger
and the run's success, divided by the tasks, is the figure: the workers', the
scheduler's, the PostgreSQL backends' of the benchmark's database, and Redis's (its
whole server, shared with anything else using it). The samples split a sampled process's
CPU into named parts by the frames on their stacks (:data:`PARTS` for a worker,
:data:`SCHEDULER_PARTS` for the scheduler); CPU spent without the GIL (system calls) is
spread over the parts in proportion. CPU time, not wall time: the figures and their
proportions hold on a loaded machine.

``python -m bench.worker_profile [--width 1000] [--workers 1] [--sample
workers|scheduler|both] [--rate 250] [--keep PATH]`` prints one JSON line (about 40 s at
1,000); ``--keep PATH`` saves the raw samples (collapsed stacks) as ``PATH-<kind>``. It
needs py-spy in the venv (``.venv/bin/pip install py-spy``; not a dependency).
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
    emit,
    loom_site,
    processes,
    utcnow,
    wait_for_rq_workers,
    wait_for_run,
)
from bench.dag_files import NOOP, dag_file
from bench.loom_runs import FAN_OUT_DAG, MAPPED_FAN_OUT_DAG

WARM_UP_DAG = dag_file(
    "bench_warm_up",
    NOOP
    + """
    noop.override(task_id="start")() >> [noop.override(task_id=f"t{i}")() for i in range(8)]
""",
)
"""Run before the measured fan-out, so that what a worker does once (importing Jinja2
and the plugins, compiling its SQL) is not counted; importing the fan-out's own DAG file
and reading its graph (once per worker) are, as parts of their own."""

PY_SPY = str(Path(PYTHON).with_name("py-spy"))

CROSS_CUTTING_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("logging", ("logging/__init__.py", "processlog.py")),
)
"""The parts every process has, matched first: a metric or a log line inside the claim (or
a step) counts here."""

PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    *CROSS_CUTTING_PARTS,
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


SCHEDULER_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    *CROSS_CUTTING_PARTS,
    # Threads beside the ticks.
    ("parse loop (thread)", ("engine/parser/",)),
    ("outbox relay (thread)", ("engine/delivery/",)),
    ("waker: waiting for NOTIFY", ("wakeup.py",)),
    # After a step's commit: the jobs to Redis.
    ("submit: RQ enqueue (submit_many)", ("Scheduler._submit",)),
    ("reconcile: RQ job lookups", ("Scheduler._reconcile",)),
    # The steps' bodies (their SQL included), by the Scheduler method that runs them.
    ("step: advance runs (settle, finish)", ("Scheduler._advance",)),
    ("step: queue (slots, admission, scheduled → queued)", ("Scheduler._queue",)),
    ("step: start runs", ("Scheduler._start_runs",)),
    ("step: promote retries, reschedules", ("Scheduler._promote", "Scheduler._pokes")),
    ("step: create runs, asset runs", ("Scheduler._create_runs", "Scheduler._asset_runs")),
    ("step: heartbeat", ("record_scheduler_heartbeat",)),
    (
        "step: zombies, deferrals, timeouts, backfills, deadlines",
        (
            "Scheduler._zombies",
            "Scheduler._deferrals",
            "Scheduler._timeouts",
            "Scheduler._backfills",
            "Scheduler._deadlines",
            "Scheduler._stale",
        ),
    ),
    # Around every step: its session, connection checkout (pre-ping), BEGIN and COMMIT.
    ("step transactions: checkout, begin, commit", ("Scheduler._step",)),
    ("tick loop", ("scheduler.py:",)),
)
"""Named parts of the scheduler's CPU, as :data:`PARTS`: the tick's steps by their
``Scheduler`` method (SQL, SQLAlchemy and psycopg below them included), the transaction
around each step, the jobs' submission to Redis, the threads beside the ticks."""

PARTS_BY_KIND = {"workers": PARTS, "scheduler": SCHEDULER_PARTS}


def classify(stack: list[str], parts: tuple[tuple[str, tuple[str, ...]], ...] = PARTS) -> str:
    """The part of ``stack`` (outermost frame first)."""
    for name, needles in parts:
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


def split_samples(raw: str, parts: tuple[tuple[str, tuple[str, ...]], ...] = PARTS) -> Counter[str]:
    """Sample counts by part."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        if line.strip():
            frames, count = _frames(line)
            counts[classify(frames, parts)] += count
    return counts


def _stat_cpu(pid: int | str) -> tuple[int, float]:
    """(process group, user + system CPU seconds) of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` (all its threads, living or ended)."""
    return _stat_cpu(pid)[1]


def group_cpu_seconds(pgid: int, *, besides: int) -> float:
    """CPU of the other processes of process group ``pgid`` (RQ's scheduler process, the
    parse loop's forkserver)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == besides:
            continue
        try:
            group, cpu = _stat_cpu(entry.name)
        except (FileNotFoundError, ProcessLookupError):
            continue
        if group == pgid:
            total += cpu
    return total


def backend_cpu_seconds(database: str) -> dict[int, float]:
    """CPU of each PostgreSQL backend connected to ``database`` (on this machine), by pid:
    its command line reads ``postgres: <user> <database> <client> <state>``. A backend
    that exits between two readings takes its CPU with it (the pools keep theirs open)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()
            if len(words) > 3 and words[0] == b"postgres:" and database.encode() in words[2:4]:
                found[int(entry.name)] = _stat_cpu(entry.name)[1]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def redis_server_cpu_seconds() -> float:
    """CPU of the local ``redis-server`` processes (the whole server: every database)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "redis-server":
                total += _stat_cpu(entry.name)[1]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def profile(
    width: int,
    rate: int,
    workers: int = 1,
    keep: Path | None = None,
    *,
    mapped: bool = False,
    sample: str = "workers",
) -> dict[str, Any]:
    """Run the fan-out (``mapped``: its middle one task mapped over a list) on ``workers``
    workers and a ``loom scheduler``, sampling ``sample`` (workers, scheduler, both);
    each process's CPU per task, the sampled ones' split."""
    if not Path(PY_SPY).exists():
        raise SystemExit(f"{PY_SPY} is missing: .venv/bin/pip install py-spy")
    dag_id, source = (
        ("bench_mapped_fan_out", MAPPED_FAN_OUT_DAG) if mapped else ("bench_fan_out", FAN_OUT_DAG)
    )
    dag_files = {dag_id: source.format(width=width), "bench_warm_up": WARM_UP_DAG}
    with loom_site("loom-bench-wprof-", dag_files) as site:
        commands = [[LOOM, "worker", "--no-fork"]] * workers + [[LOOM, "scheduler"]]
        scheduler_env = {**site.env, "LOOM__METRICS__SCHEDULER_PORT": "0"}
        with processes(commands, env=scheduler_env, log_dir=site.logs) as started:
            wait_for_rq_workers(site.redis, workers)
            pids = {
                "workers": [proc.pid for proc in started[:workers]],
                "scheduler": [started[-1].pid],
            }
            kinds = ["workers", "scheduler"] if sample == "both" else [sample]
            targets = {kind: pids[kind] for kind in kinds}
            with sampled(targets, rate, site.root) as samples:
                run = run_fan_out(site.sessions, pids, dag_id, site.url.rsplit("/", 1)[1])
        raw = {kind: "".join(path.read_text() for path in paths) for kind, paths in samples.items()}
        if keep is not None:
            for kind, text in raw.items():
                keep.with_name(f"{keep.stem}-{kind}{keep.suffix}").write_text(text)
    return {"mapped": mapped, **figures(run, raw, width=width, rate=rate, workers=workers)}


@contextlib.contextmanager
def sampled(
    targets: dict[str, list[int]], rate: int, folder: Path
) -> Iterator[dict[str, list[Path]]]:
    """py-spy attached to each pid of ``targets`` inside the block; the raw sample files
    by kind."""
    paths = {
        kind: [folder / f"samples-{pid}.txt" for pid in pids] for kind, pids in targets.items()
    }
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
        for kind, pids in targets.items()
        for pid, path in zip(pids, paths[kind], strict=True)
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
    sessions: Any, pids: dict[str, list[int]], dag_id: str, database: str
) -> dict[str, Any]:
    """Trigger the warm-up, then the fan-out; each process's CPU during the fan-out."""
    _trigger_and_wait(sessions, "bench_warm_up")
    before = _cpu_now(pids, database)
    triggered = time.perf_counter()
    state, done = _trigger_and_wait(sessions, dag_id)
    after = _cpu_now(pids, database)
    backends = after.pop("postgres_backends")
    was = before.pop("postgres_backends")
    cpu = {kind: after[kind] - before[kind] for kind in after}
    cpu["postgres_backends"] = sum(value - was.get(pid, 0.0) for pid, value in backends.items())
    return {"state": state, "seconds": done - triggered, "cpu": cpu}


def _cpu_now(pids: dict[str, list[int]], database: str) -> dict[str, Any]:
    workers, [scheduler] = pids["workers"], pids["scheduler"]
    return {
        "workers": sum(cpu_seconds(pid) for pid in workers),
        "worker_rq_schedulers": sum(group_cpu_seconds(pid, besides=pid) for pid in workers),
        "scheduler": cpu_seconds(scheduler),
        "scheduler_children": group_cpu_seconds(scheduler, besides=scheduler),
        "postgres_backends": backend_cpu_seconds(database),
        "redis_server_whole": redis_server_cpu_seconds(),
    }


def _trigger_and_wait(sessions: Any, dag_id: str) -> tuple[str, float]:
    from engine.scheduling.wakeup import request_wake
    from engine.services.runs import trigger_dag

    with sessions.begin() as session:
        run_pk = trigger_dag(session=session, dag_id=dag_id, now=utcnow()).id
        request_wake(session=session)
    return wait_for_run(sessions, run_pk, timeout=600)


def figures(
    run: dict[str, Any], raw: dict[str, str], *, width: int, rate: int, workers: int
) -> dict[str, Any]:
    """The JSON line: CPU per task of each process, and the sampled ones' split."""
    tasks = width + 2
    per_task = {kind: 1000 * seconds / tasks for kind, seconds in run["cpu"].items()}
    result: dict[str, Any] = {
        "benchmark": "worker_profile",
        "task_kind": "@task no-op (a worker try each)",
        "width": width,
        "workers": workers,
        "state": run["state"],
        "tasks": tasks,
        "wall_seconds": round(run["seconds"], 2),
        "cpu_ms_per_task": round(per_task["workers"], 2),
        "cpu_ms_per_task_by_process": {kind: round(ms, 2) for kind, ms in per_task.items()},
        "rq_scheduler_processes_cpu_ms_per_task": round(per_task["worker_rq_schedulers"], 3),
        "sample_rate_hz": rate,
    }
    for kind, text in raw.items():
        parts = split_samples(text, PARTS_BY_KIND[kind])
        samples = sum(parts.values())
        ms_per_task = per_task[kind]
        key = "split_cpu_ms_per_task" if kind == "workers" else f"{kind}_split_cpu_ms_per_task"
        result[f"{kind}_samples"] = samples
        result[key] = {
            name: round(ms_per_task * count / samples, 2) for name, count in parts.most_common()
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--mapped", action="store_true", help="the mapped fan-out instead")
    parser.add_argument(
        "--sample", choices=("workers", "scheduler", "both"), default="workers",
        help="the processes py-spy samples (every process's CPU is read either way)",
    )  # fmt: skip
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--keep", type=Path, default=None, help="save the raw samples here")
    args = parser.parse_args()
    emit(
        profile(
            args.width, args.rate, args.workers, args.keep, mapped=args.mapped, sample=args.sample
        )
    )


if __name__ == "__main__":
    main()
