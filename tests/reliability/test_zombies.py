"""A worker killed by ``kill -9`` mid-task: a zombie, retried on another worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import wait_until

from .conftest import Loom

DAG = """
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from engine import DAG, PythonOperator

OUT = Path({out!r})


def slow(ti):
    with (OUT.parent / "started").open("a") as f:
        f.write(f"{{ti.try_number}} {{os.getpid()}}\\n")
    time.sleep(5)
    with OUT.open("a") as f:
        f.write(f"{{ti.try_number}}\\n")


with DAG("zombie", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(
        task_id="slow", python_callable=slow, retries=1, retry_delay=timedelta(seconds=0)
    )
"""

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def out(loom: Loom, tmp_path: Path) -> Path:
    """The zombie DAG, parsed: the file its task writes its try number to at its end (its
    start is written beside it, to ``started``)."""
    out = tmp_path / "side-effects" / "out"
    out.parent.mkdir()
    loom.add_dag("zombie", DAG.format(out=str(out)))
    loom.reparse()
    return out


def test_a_killed_worker_is_a_zombie_and_its_try_runs_again_elsewhere(
    loom: Loom, out: Path
) -> None:
    loom.scheduler()
    workers = {w.pid: w for w in (loom.worker("--no-fork", name=f"worker-{n}") for n in (1, 2))}
    loom.trigger("zombie", "--run-id", "r1")

    first = wait_until(
        lambda: loom.db.rows(
            "SELECT a.pid FROM task_attempt a WHERE a.try_number = 1 AND a.state = 'running'"
        ),
        30,
        what="try 1 running",
    )[0]
    wait_until(lambda: (out.parent / "started").exists(), 10, what="try 1 inside the task")
    assert first.pid in workers, "with --no-fork the task runs in the worker process itself"
    loom.processes.kill9(workers[first.pid])

    states = loom.wait_runs("zombie", 1, timeout=45)
    assert states == {"r1": "success"}
    attempts = loom.db.rows(
        "SELECT try_number, state, pid, error_type, start_date, end_date FROM task_attempt "
        "ORDER BY try_number"
    )
    assert [a.try_number for a in attempts] == [1, 2]
    one, two = attempts
    assert (one.state, one.error_type) == ("up_for_retry", "Zombie")
    assert (two.state, two.error_type) == ("success", None)
    assert one.pid == first.pid
    assert two.pid != one.pid
    assert two.pid in workers
    assert two.start_date >= one.end_date, "try 2 started before try 1 was declared dead"
    assert out.read_text() == "2\n", "only try 2 reached the end of the task"
    ti = loom.db.rows("SELECT state, try_number FROM task_instance")
    assert [(t.state, t.try_number) for t in ti] == [("success", 2)]


def test_a_worker_starting_on_the_host_fails_the_try_a_killed_worker_left_running(
    loom: Loom, out: Path
) -> None:
    # Only the start-up recovery of the next worker can fail the try within this test.
    loom.env["LOOM__SCHEDULER__ZOMBIE_THRESHOLD"] = "1h"
    loom.scheduler()
    first = loom.worker("--no-fork", name="worker-1")
    loom.trigger("zombie", "--run-id", "r1")
    wait_until(lambda: (out.parent / "started").exists(), 30, what="try 1 inside the task")
    loom.processes.kill9(first)

    loom.worker("--no-fork", name="worker-2")

    assert loom.wait_runs("zombie", 1, timeout=45) == {"r1": "success"}
    one, two = loom.db.rows(
        "SELECT try_number, state, error_type, error_message FROM task_attempt ORDER BY try_number"
    )
    assert (one.state, one.error_type) == ("up_for_retry", "Zombie")
    assert f"its process {first.pid}" in one.error_message
    assert (two.try_number, two.state) == (2, "success")
    assert out.read_text() == "2\n", "only try 2 reached the end of the task"
