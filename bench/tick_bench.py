"""Scheduler tick time with 1,000, 10,000 and 50,000 task instances in flight, on PostgreSQL.

10, 100 and 500 running runs of one 100-task DAG (``start >> a_i >> b_i >> end`` for 49
pairs). In each run ``start`` succeeded, the ``a`` tasks are half running (fresh heartbeat)
and half queued (just now), the ``b`` tasks and ``end`` are ``none``, waiting on them:
the steady state of a busy scheduler (``scheduler.parallelism`` long used up, no zombie,
nothing stale; the clock stands still at the populate time so that none appears while the
benchmark runs). Two figures per size: *quiet* ticks, where no instance changed, and
*busy* ticks, before each of which ``CHANGED_PER_TICK`` running ``a`` tasks of as many runs
finished (as workers' finishes do), so that those runs have a ``b`` to schedule. Their
growth from 1k to 50k instances is the growth with the number of running runs (the runs
are all alike). The executor records submissions. DAG file parsing is left out
(``parse_dags=False``; see ``bench.parse_bench``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bench._infra import emit, loom_site, median, percentile, utcnow

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

    def submit_many(self, jobs: Any, *, at: datetime | None = None) -> None:
        self.submitted.extend(jobs)

    def has_job(self, job_id: str) -> bool:
        return True

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def _populate(sessions: Any, runs: int) -> tuple[int, datetime]:
    """Create ``runs`` runs in the steady state; returns the instance count and the time
    they were set up at (their heartbeats', so that a tick then finds no zombie)."""
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
    return count, now


SIZES = (10, 100, 500)
"""Running runs of 100 instances each: 1k, 10k and 50k instances in flight."""

CHANGED_PER_TICK = 10
"""Runs with a finished task before each busy tick."""


def _finish_some(sessions: Any, runs: list[int], tick: int, now: datetime) -> None:
    """Finish one running ``a`` task in each of ``CHANGED_PER_TICK`` runs (as a worker's
    finish does: a compare-and-set ``running → success``)."""
    from engine.models import TaskInstance
    from engine.models.transitions import set_task_state
    from engine.state import TaskInstanceState

    chosen = [runs[(tick * CHANGED_PER_TICK + i) % len(runs)] for i in range(CHANGED_PER_TICK)]
    with sessions.begin() as session:
        for run_pk in chosen:
            ti_id = session.scalar(
                sa.select(TaskInstance.id)
                .where(TaskInstance.dag_run_id == run_pk,
                       TaskInstance.state == TaskInstanceState.RUNNING)
                .limit(1)
            )  # fmt: skip
            if ti_id is not None:
                set_task_state(
                    session=session, ti_id=ti_id, expected=TaskInstanceState.RUNNING,
                    new=TaskInstanceState.SUCCESS, try_number=1, end_date=now,
                )  # fmt: skip


class StatementCounter:
    """Counts the SQL statements the engine sends (machine-independent, unlike time)."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1


def _timed(
    scheduler: Any, now: datetime, ticks: int, counter: StatementCounter, before: Any = None
) -> dict[str, Any]:
    """Wall and CPU time of ``ticks`` ticks, and their statements (``before`` each tick,
    outside the timing: ``before(tick)``)."""
    durations: list[float] = []
    cpu: list[float] = []
    statements: list[int] = []
    errors: list[str] = []
    for tick in range(ticks):
        if before is not None:
            before(tick)
        counted = counter.count
        started, started_cpu = time.perf_counter(), time.process_time()
        report = scheduler.tick(now)
        durations.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        statements.append(counter.count - counted)
        errors += report.errors
    return {
        "median_ms": round(1000 * median(durations), 1),
        "p95_ms": round(1000 * percentile(durations, 0.95), 1),
        "max_ms": round(1000 * max(durations), 1),
        "cpu_median_ms": round(1000 * median(cpu), 1),
        "cpu_p95_ms": round(1000 * percentile(cpu, 0.95), 1),
        "statements_median": median([float(n) for n in statements]),
        "errors": sorted(set(errors)),
    }


def one_size(runs: int, ticks: int = 20) -> dict[str, Any]:
    """Quiet and busy tick times with ``runs`` running runs of 100 instances."""
    from engine.config import load_settings
    from engine.models import DagRun
    from engine.scheduling.scheduler import Scheduler

    with loom_site("loom-bench-tick-", {"bench_tick": DAG_SOURCE}) as site:
        settings = load_settings(environ=site.env)
        sessions = site.sessions
        instances, now = _populate(sessions, runs)
        with sessions() as session:
            run_pks = list(session.scalars(sa.select(DagRun.id).order_by(DagRun.id)))
        executor = RecordingExecutor()
        scheduler = Scheduler(session_factory=sessions, executor=executor,
                              settings=settings, parse_dags=False)  # fmt: skip
        for _ in range(2):  # warm-up: connections, caches, what populating changed
            scheduler.tick(now)
        counter = StatementCounter(site.engine)
        quiet = _timed(scheduler, now, ticks, counter)
        busy = _timed(scheduler, now, ticks, counter,
                      lambda tick: _finish_some(sessions, run_pks, tick, now))  # fmt: skip
    return emit(
        {
            "benchmark": "scheduler_tick",
            "runs": runs,
            "task_instances": instances,
            "ticks": ticks,
            "quiet": quiet,
            "busy": {"changed_runs_per_tick": CHANGED_PER_TICK, **busy},
            "submitted": len(executor.submitted),
            "target": {"p95_ms_at_10k": 50},
        }
    )


def main(sizes: tuple[int, ...] = SIZES, ticks: int = 20) -> dict[str, Any]:
    """Every size, then the growth from the smallest to the largest (JSON lines)."""
    figures = [one_size(runs, ticks) for runs in sizes]
    first, last = figures[0], figures[-1]
    return emit(
        {
            "benchmark": "scheduler_tick_growth",
            "task_instances": [f["task_instances"] for f in figures],
            "quiet_p95_ms": [f["quiet"]["p95_ms"] for f in figures],
            "busy_p95_ms": [f["busy"]["p95_ms"] for f in figures],
            "instances_ratio": round(last["task_instances"] / first["task_instances"], 1),
            "busy_p95_ratio": round(last["busy"]["p95_ms"] / max(first["busy"]["p95_ms"], 0.1), 1),
            "target": {"p95_ms_at_10k": 50},
        }
    )


if __name__ == "__main__":
    main()
