"""Redis loses every job (FLUSHDB) while tasks are queued: reconciliation submits them again."""

from __future__ import annotations

import pytest
from redis import Redis

from tests.support.processes import wait_until

from .conftest import Loom

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

DAG = """
from datetime import datetime

from engine import DAG, PythonOperator


def hello(ti):
    print("hello from", ti.task_id)


with DAG("flushed", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    for name, priority in [("h", "high"), ("d1", "default"), ("d2", "default"), ("l", "low")]:
        PythonOperator(task_id=name, python_callable=hello, priority=priority)
"""


def test_jobs_lost_by_redis_are_submitted_again_and_the_run_succeeds(
    loom: Loom, redis13: Redis
) -> None:
    loom.add_dag("flushed", DAG)
    loom.reparse()
    scheduler = loom.scheduler()  # no worker yet: the jobs wait in Redis
    loom.trigger("flushed", "--run-id", "r1")

    wait_until(
        lambda: loom.db.scalar("SELECT count(*) FROM task_instance WHERE state = 'queued'") == 4,
        30,
        what="4 queued task instances",
    )
    # The queued state commits before the job reaches Redis (a crash between the two is
    # what reconciliation repairs), so the jobs may land a moment after the rows say queued.
    wait_until(
        lambda: sum(redis13.llen(f"rq:queue:loom.{c}") for c in ("high", "default", "low")) == 4,
        30,
        what="4 jobs in Redis",
    )
    redis13.flushdb()
    assert redis13.dbsize() == 0

    loom.worker("--no-fork")
    assert loom.wait_runs("flushed", 1, timeout=40) == {"r1": "success"}
    tries = loom.db.rows(
        "SELECT ti.state, ti.try_number, count(a.id) AS attempts FROM task_instance ti "
        "LEFT JOIN task_attempt a ON a.task_instance_id = ti.id GROUP BY ti.id"
    )
    assert len(tries) == 4
    assert {(t.state, t.try_number, t.attempts) for t in tries} == {("success", 1, 1)}
    assert scheduler.poll() is None
    log = next(loom.processes.tmp_path.glob("scheduler.err")).read_text()
    assert log.count("vanished: submitting it again") == 4
