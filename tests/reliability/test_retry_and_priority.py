"""Retry backoff as the formula says, and strict priority on a busy worker, with real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import wait_until

from .conftest import Loom

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

FLAKY_DAG = """
from datetime import datetime, timedelta

from engine import DAG, PythonOperator


def boom():
    raise RuntimeError("always fails")


with DAG("backoff", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(
        task_id="boom",
        python_callable=boom,
        retries=3,
        retry_delay=timedelta(seconds=1),
        retry_exponential_backoff=True,
    )
"""

JITTER = 0.1
SLACK = 1.5
"""Seconds allowed on top of the delay: the scheduler's tick (0.2 s), queueing and the claim."""


def test_retries_start_after_the_exponential_backoff(loom: Loom) -> None:
    loom.add_dag("backoff", FLAKY_DAG)
    loom.reparse()
    loom.scheduler()
    loom.worker("--no-fork")
    loom.trigger("backoff", "--run-id", "r1")

    assert loom.wait_runs("backoff", 1, timeout=45) == {"r1": "failed"}
    attempts = loom.db.rows(
        "SELECT try_number, state, start_date, end_date FROM task_attempt ORDER BY try_number"
    )
    assert [(a.try_number, a.state) for a in attempts] == [
        (1, "up_for_retry"), (2, "up_for_retry"), (3, "up_for_retry"), (4, "failed"),
    ]  # fmt: skip
    for previous, current, delay in zip(attempts[:-1], attempts[1:], (1.0, 2.0, 4.0), strict=True):
        waited = (current.start_date - previous.end_date).total_seconds()
        low, high = (1 - JITTER) * delay, (1 + JITTER) * delay + SLACK
        assert low <= waited <= high, (current.try_number, waited, (low, high))


PRIORITY_DAGS = """
import time
from datetime import datetime
from pathlib import Path

from engine import DAG, PythonOperator

RELEASE = Path({release!r})


def busy():
    deadline = time.monotonic() + 30
    while not RELEASE.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def quick():
    pass


with DAG("busy", schedule=None, start_date=datetime(2026, 1, 1)) as busy_dag:
    PythonOperator(task_id="hold", python_callable=busy)

for name in ("low", "high"):
    with DAG(f"{{name}}s", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        for n in range(3):
            PythonOperator(task_id=f"{{name}}{{n}}", python_callable=quick, priority=name)
    globals()[f"{{name}}s_dag"] = dag
"""


def _queued(loom: Loom, dag_id: str) -> bool:
    count = loom.db.scalar(
        "SELECT count(*) FROM task_instance WHERE dag_id = :d AND state = 'queued'", d=dag_id
    )
    return bool(count == 3)


def test_a_busy_worker_takes_high_priority_tasks_before_low_ones(
    loom: Loom, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    loom.add_dag("priority", PRIORITY_DAGS.format(release=str(release)))
    loom.reparse()
    loom.scheduler()
    loom.worker("--no-fork")  # one worker, concurrency 1, strict priority (default strategy)
    loom.trigger("busy", "--run-id", "r1")
    wait_until(
        lambda: (
            loom.db.scalar("SELECT state FROM task_instance WHERE dag_id = 'busy'") == "running"
        ),
        30,
        what="the worker busy",
    )
    loom.trigger("lows", "--run-id", "r1")  # queued first...
    wait_until(lambda: _queued(loom, "lows"), 20, what="3 low tasks queued")
    loom.trigger("highs", "--run-id", "r1")  # ...then the high ones
    wait_until(lambda: _queued(loom, "highs"), 20, what="3 high tasks queued")
    busy = loom.db.scalar("SELECT state FROM task_instance WHERE dag_id = 'busy'")
    assert busy == "running", "the worker must still be busy when all six are queued"
    release.touch()

    for dag_id in ("busy", "lows", "highs"):
        assert loom.wait_runs(dag_id, 1, timeout=30) == {"r1": "success"}
    starts = loom.db.rows(
        "SELECT ti.dag_id, ti.task_id, a.start_date FROM task_attempt a "
        "JOIN task_instance ti ON ti.id = a.task_instance_id "
        "WHERE ti.dag_id IN ('lows', 'highs') ORDER BY a.start_date"
    )
    order = [s.task_id for s in starts]
    assert len(order) == 6
    assert sorted(order[:3]) == ["high0", "high1", "high2"], order
    assert sorted(order[3:]) == ["low0", "low1", "low2"], order
