"""Scheduler tick time with 10,000 task instances in flight, on PostgreSQL.

100 running runs of one 100-task DAG (``start >> a_i >> b_i >> end`` for 49 pairs). In
each run ``start`` succeeded, the ``a`` tasks are half running (fresh heartbeat) and half
queued (just now), the ``b`` tasks and ``end`` are ``none``, waiting on them. So every
tick reads all 10,000 instances, decides readiness of 5,000, finds nothing to queue
(``scheduler.parallelism`` is long used up), no zombie, nothing stale: the steady state of
a busy scheduler. The executor records submissions. DAG file parsing is left out
(``parse_dags=False``; see ``bench.parse_bench``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bench._infra import (
    emit,
    loom_environ,
    median,
    parse_into,
    percentile,
    postgres_database,
    temp_dir,
    utcnow,
    write_dag,
)

PAIRS = 49
DAG_SOURCE = f"""
from datetime import datetime
from engine import DAG, EmptyOperator

with DAG("bench_tick", schedule=None, start_date=datetime(2026, 1, 1), max_active_runs=1000,
         max_active_tasks=10000) as dag:
    start = EmptyOperator(task_id="start")
    end = EmptyOperator(task_id="end")
    for i in range({PAIRS}):
        start >> EmptyOperator(task_id=f"a{{i:02d}}") >> EmptyOperator(task_id=f"b{{i:02d}}") >> end
"""


class RecordingExecutor:
    """An executor that only records what it is given; every job is 'still there'."""

    def __init__(self) -> None:
        self.submitted: list[Any] = []

    def submit(self, job: Any, *, at: datetime | None = None) -> None:
        self.submitted.append(job)

    def has_job(self, job_id: str) -> bool:
        return True

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def _populate(sessions: Any, runs: int) -> int:
    from engine.models import DagRun, TaskInstance
    from engine.services.runs import trigger_dag
    from engine.state import DagRunState, TaskInstanceState

    now = utcnow()
    with sessions.begin() as session:
        for number in range(runs):
            trigger_dag(session=session, dag_id="bench_tick", run_id=f"bench_{number:03d}", now=now)
    ti = TaskInstance.__table__
    with sessions.begin() as session:
        session.execute(sa.update(DagRun).values(state=DagRunState.RUNNING, start_date=now))
        session.execute(
            sa.update(ti)
            .where(ti.c.task_id == "start")
            .values(state=TaskInstanceState.SUCCESS, try_number=1, start_date=now, end_date=now)
        )
        running = [f"a{i:02d}" for i in range(0, PAIRS, 2)]
        queued = [f"a{i:02d}" for i in range(1, PAIRS, 2)]
        session.execute(
            sa.update(ti)
            .where(ti.c.task_id.in_(running))
            .values(
                state=TaskInstanceState.RUNNING,
                try_number=1,
                queued_at=now,
                start_date=now,
                last_heartbeat_at=now,
                hostname="bench",
                pid=1,
            )
        )
        session.execute(
            sa.update(ti)
            .where(ti.c.task_id.in_(queued))
            .values(state=TaskInstanceState.QUEUED, try_number=1, queued_at=now)
        )
        count = session.scalar(sa.select(sa.func.count()).select_from(ti)) or 0
    with sessions.begin() as session:
        session.execute(sa.text("ANALYZE"))
    return count


def main(runs: int = 100, ticks: int = 10) -> dict[str, Any]:
    from engine.config import load_settings
    from engine.models.session import create_db_engine, make_session_factory
    from engine.scheduling.scheduler import Scheduler

    with postgres_database() as url, temp_dir("loom-bench-tick-") as tmp:
        dags = tmp / "dags"
        dags.mkdir()
        write_dag(dags, "bench_tick", DAG_SOURCE)
        settings = load_settings(environ=loom_environ(database_url=url, dags_folder=dags,
                                                      home=tmp))  # fmt: skip
        engine = create_db_engine(url)
        try:
            sessions = make_session_factory(engine)
            parse_into(sessions, dags)
            instances = _populate(sessions, runs)
            executor = RecordingExecutor()
            scheduler = Scheduler(session_factory=sessions, executor=executor,
                                  settings=settings, parse_dags=False)  # fmt: skip
            scheduler.tick(utcnow())  # warm-up: connections, caches
            durations = []
            errors: list[str] = []
            for _ in range(ticks):
                started = time.perf_counter()
                report = scheduler.tick(utcnow())
                durations.append(time.perf_counter() - started)
                errors += report.errors
        finally:
            engine.dispose()
    return emit(
        {
            "benchmark": "scheduler_tick",
            "runs": runs,
            "task_instances": instances,
            "ticks": ticks,
            "median_ms": round(1000 * median(durations), 1),
            "p95_ms": round(1000 * percentile(durations, 0.95), 1),
            "max_ms": round(1000 * max(durations), 1),
            "submitted": len(executor.submitted),
            "errors": sorted(set(errors)),
            "target": {"median_ms": 50, "p95_ms": 50},
        }
    )


if __name__ == "__main__":
    main()
