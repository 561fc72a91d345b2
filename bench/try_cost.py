"""What one try costs the worker: SQL statements, round trips, wall and CPU milliseconds.

Machine-independent figures for the worker's hot path. Tries of ``@task`` no-ops run
in this process through :func:`workers.runner.run_task` against a real PostgreSQL (as an
in-process ``loom worker --no-fork`` runs them); a scheduler ticks in between only when
no job is waiting, and its statements are not counted. Scenarios:

- ``plain``: a chain with fast-follow off: claim, run, finish, nothing else.
- ``fast_follow_one``: a chain: each success also queues its one downstream.
- ``fan_out_start``: the first task of 1 → ``width`` → 1, whose success queues ``width``.
- ``fan_in_upstream``: the middle tasks of that fan-out (each checks the join);
  ``fan_in_last_upstream``: the one that finds the join ready and queues it.
- ``mapped_instance``: the instances of a task mapped over an upstream list.
- ``forking_worker_chain``: a chain run by a real ``loom worker --fork``; statements are
  counted in its processes by ``bench/counting/sitecustomize.py`` (totals of the processes
  the worker forked, over the tries; the worker's own statements apart).

How it counts (SQLAlchemy events on the engine, checked against the driver's state):

- *statements*: ``before_cursor_execute`` (an ``executemany`` counts once);
- *round trips*: statements, plus each ``BEGIN`` psycopg sends on its own before the first
  statement of a transaction (the connection was idle), plus each ``COMMIT``/``ROLLBACK``
  that reached the server (a transaction was open; psycopg skips an idle one). Redis
  round trips (submitting the fast-followed jobs) are not counted: the executor here
  records jobs.
- *wall ms*: ``run_task`` start to return; *CPU ms*: :func:`time.process_time` over it
  (this process's every thread: the heartbeat and log threads are part of a try).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bench._infra import emit, loom_site, temp_dir, utcnow
from bench.loom_runs import CHAIN_DAG, FAN_OUT_DAG, MAPPED_FAN_OUT_DAG
from bench.repeat import spread

TARGET = {"statements_per_try": 4, "transactions_per_try": 2}


class Counter:
    """Statements, transactions and round trips on one engine (every pooled connection)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements = self.begins = self.commits = self.rollbacks = 0
        self.texts: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(engine, "rollback", self._rollback)
        sa.event.listen(engine.pool, "reset", self._reset)

    def reset(self) -> None:
        self.statements = self.begins = self.commits = self.rollbacks = 0
        self.texts = []

    @property
    def round_trips(self) -> int:
        return self.statements + self.begins + self.commits + self.rollbacks

    def figures(self) -> dict[str, int]:
        return {
            "statements": self.statements,
            "transactions": self.begins,
            "commits": self.commits,
            "rollbacks": self.rollbacks,
            "round_trips": self.round_trips,
        }

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if _idle(conn.connection.dbapi_connection):
            self.begins += 1  # psycopg sends BEGIN first, a round trip of its own
        self.statements += 1
        self.texts.append(" ".join(statement.split())[:90])

    def _commit(self, conn: Any) -> None:
        if not _idle(conn.connection.dbapi_connection):
            self.commits += 1

    def _rollback(self, conn: Any) -> None:
        if not _idle(conn.connection.dbapi_connection):
            self.rollbacks += 1

    def _reset(self, dbapi_connection: Any, *_rest: Any) -> None:
        if not _idle(dbapi_connection):
            self.rollbacks += 1  # the pool's rollback when a connection comes back


def _idle(dbapi_connection: Any) -> bool:
    """No transaction open on the psycopg connection (or autocommit: no BEGIN/COMMIT)."""
    from psycopg import pq

    if dbapi_connection is None or getattr(dbapi_connection, "autocommit", False):
        return True
    return bool(dbapi_connection.info.transaction_status == pq.TransactionStatus.IDLE)


@dataclass
class RecordingExecutor:
    """Keeps submitted jobs in a list, once each, for the bench to run in order."""

    jobs: list[Any] = field(default_factory=list)

    def submit(self, job: Any, *, at: datetime | None = None) -> None:
        if not self.has_job(job.job_id):
            self.jobs.append(job)

    def submit_many(self, jobs: Any, *, at: datetime | None = None) -> None:
        for job in jobs:
            self.submit(job, at=at)

    def has_job(self, job_id: str) -> bool:
        return any(job.job_id == job_id for job in self.jobs)

    def start(self) -> None:
        """Nothing to acquire."""

    def stop(self) -> None:
        """Nothing to release."""


@dataclass
class Try:
    task_id: str
    counts: dict[str, int]
    wall_ms: float
    cpu_ms: float
    texts: list[str]


def run_tries(source: str, dag_id: str, *, fast_follow: bool = True) -> list[Try]:
    """Trigger ``dag_id`` once and run every try in this process; each try's cost."""
    from engine.config import load_settings
    from engine.scheduling.scheduler import Scheduler
    from engine.services.runs import trigger_dag
    from workers.context import RunnerContext, RunnerSettings

    with loom_site("loom-bench-try-", {dag_id: source}) as site:
        settings = load_settings(environ=site.env)
        sessions = site.sessions
        counter = Counter(site.engine)
        executor = RecordingExecutor()
        scheduler = Scheduler(
            session_factory=sessions, executor=executor, settings=settings, parse_dags=False
        )
        ctx = RunnerContext(
            session_factory=sessions,
            executor=executor if fast_follow else None,
            settings=RunnerSettings.from_settings(settings),
        )
        with sessions.begin() as session:
            trigger_dag(session=session, dag_id=dag_id, now=utcnow())
        return _drain(executor, lambda: scheduler.tick(utcnow()), counter, ctx)


def _drain(
    executor: RecordingExecutor, tick: Callable[[], Any], counter: Counter, ctx: Any
) -> list[Try]:
    from workers.runner import run_task

    tries: list[Try] = []
    idle_ticks = 0
    while idle_ticks < 3:
        if not executor.jobs:
            tick()
            idle_ticks = 0 if executor.jobs else idle_ticks + 1
            continue
        job = executor.jobs.pop(0)
        counter.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        state = run_task(job.ti_id, job.try_number, ctx=ctx)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if state is None:
            raise RuntimeError(f"{job.describe()} was not this worker's (a duplicate job?)")
        tries.append(
            Try(job.task_id, counter.figures(), 1000 * wall, 1000 * cpu, list(counter.texts))
        )
    return tries


def figures(scenario: str, tries: list[Try], **extra: Any) -> dict[str, Any]:
    """One scenario's line: medians per try (spread of wall and CPU ms)."""
    if not tries:
        raise RuntimeError(f"{scenario}: no tries ran")
    counts = {
        f"{key}_per_try": statistics.median(t.counts[key] for t in tries) for key in tries[0].counts
    }
    typical = sorted(tries, key=lambda t: t.counts["statements"])[len(tries) // 2]
    return {
        "benchmark": "try_cost",
        "scenario": scenario,
        "tries": len(tries),
        **extra,
        **counts,
        "wall_ms_per_try": spread([t.wall_ms for t in tries], 2),
        "cpu_ms_per_try": spread([t.cpu_ms for t in tries], 2),
        "statements_of_a_typical_try": typical.texts,
        "target": TARGET,
    }


def forking_chain(length: int = 20) -> dict[str, Any]:
    """A chain on a real forking ``loom worker``, counted inside its processes."""
    import os

    from bench._infra import REPO
    from bench.loom_runs import run_dag

    with temp_dir("loom-bench-count-") as folder:
        env = {
            "PYTHONPATH": f"{REPO / 'bench' / 'counting'}:{REPO}",
            "BENCH_COUNT_DIR": str(folder),
        }
        source = CHAIN_DAG.format(length=length)
        result = run_dag(
            dag_id="bench_chain", source=source, workers=1, fork=True, settings_env=env
        )
        worker, children = _letters(folder, parent=os.getpid())
    tries = result["tasks"]
    if not children:
        raise RuntimeError("no statement counted in the worker's children (sitecustomize?)")
    counts = {
        "statements": children.count("s"),
        "transactions": children.count("b"),
        "commits": children.count("c"),
        "rollbacks": children.count("r"),
    }
    per_try = {f"{key}_per_try": round(value / tries, 2) for key, value in counts.items()}
    return {
        "benchmark": "try_cost",
        "scenario": "forking_worker_chain",
        "tries": tries,
        "state": result["state"],
        **per_try,
        "round_trips_per_try": round(sum(counts.values()) / tries, 2),
        "worker_parent_statements_total": worker.count("s"),
        "target": TARGET,
    }


def _letters(folder: Any, *, parent: int) -> tuple[str, str]:
    """(the worker's events, its descendants' events) from the per-process files."""
    worker, children = [], []
    for path in folder.iterdir():
        ppid, _, letters = path.read_text().partition("\n")
        (worker if int(ppid) == parent else children).append(letters)
    return "".join(worker), "".join(children)


def main(length: int = 30, width: int = 20) -> None:
    """Every scenario, one JSON line each."""
    chain = CHAIN_DAG.format(length=length)
    emit(figures("plain", run_tries(chain, "bench_chain", fast_follow=False)[1:]))
    emit(figures("fast_follow_one", run_tries(chain, "bench_chain")[1:-1]))
    tries = run_tries(FAN_OUT_DAG.format(width=width), "bench_fan_out")
    middle = [t for t in tries if t.task_id.startswith("t")]
    emit(figures("fan_out_start", [t for t in tries if t.task_id == "start"], width=width))
    emit(figures("fan_in_upstream", middle[:-1], width=width))
    emit(figures("fan_in_last_upstream", middle[-1:], width=width))
    mapped = run_tries(MAPPED_FAN_OUT_DAG.format(width=width), "bench_mapped_fan_out")
    emit(figures("mapped_instance", [t for t in mapped if t.task_id == "noop"], width=width))
    emit(forking_chain())


if __name__ == "__main__":
    main()
