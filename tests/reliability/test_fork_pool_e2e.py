"""``loom worker --fork``'s reused children with real Loom tries: ``loom scheduler`` and
``loom worker`` on PostgreSQL and Redis database 14. The zombie threshold is ten minutes,
so a try that ends early was ended by its worker, not by the zombie check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.conftest import Loom
from tests.support.processes import wait_until
from tests.support.services import redis_url

REDIS_URL = redis_url(14)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

CHAIN = """
import os
from datetime import datetime
from pathlib import Path

from engine import DAG, task

OUT = Path({out!r})

with DAG("pool_chain", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def step(n):
        with OUT.open("a") as f:
            f.write(f"{{n}} {{os.getpid()}}\\n")
        return n + 1

    value = 0
    for _ in range(6):
        value = step(value)
"""

DIES = """
import os
import signal
from datetime import datetime

from engine import DAG, task

with DAG("pool_dies", schedule=None, start_date=datetime(2026, 1, 1)):

    @task(retries=0)
    def boom():
        os.kill(os.getpid(), signal.SIGKILL)

    boom()
"""

VERSIONED = """
import os
from datetime import datetime
from pathlib import Path

from engine import DAG, task

VERSION = {version}

with DAG("pool_versioned", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def report():
        with Path({out!r}).open("a") as f:
            f.write(f"{{VERSION}} {{os.getpid()}}\\n")

    report()
"""


@pytest.fixture
def metrics_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "metrics"
    folder.mkdir()
    return folder


@pytest.fixture
def loom(loom_on: Callable[..., Loom], metrics_dir: Path) -> Loom:
    return loom_on(
        REDIS_URL,
        LOOM__SCHEDULER__HEARTBEAT_INTERVAL="0.5s",
        LOOM__SCHEDULER__ZOMBIE_THRESHOLD="10m",
        LOOM__WORKER__MAX_TRIES_PER_CHILD="3",
        LOOM__METRICS__WORKER_PORT="0",
        LOOM__METRICS__SCHEDULER_PORT="0",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )


def _lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()]


def test_children_are_reused_replaced_and_leave_no_metric_files(
    loom: Loom, tmp_path: Path, metrics_dir: Path
) -> None:
    out = tmp_path / "chain.out"
    loom.add_dag("pool_chain", CHAIN.format(out=str(out)))
    loom.reparse()
    loom.scheduler()
    worker = loom.worker("--fork")
    loom.trigger("pool_chain", "--run-id", "r1")
    assert loom.wait_runs("pool_chain", 1, timeout=90) == {"r1": "success"}

    pids = [int(pid) for _, pid in _lines(out)]
    assert len(pids) == 6
    assert pids[0] == pids[1] == pids[2] != pids[3] == pids[4] == pids[5], pids
    assert worker.pid not in pids
    retired = pids[0]
    assert not list(metrics_dir.glob(f"*_{retired}.db")), "a retired child's files stayed"
    assert (metrics_dir / "histogram_archive.db").exists(), "its counts were not kept"


def test_the_try_of_a_killed_child_is_failed_at_once_and_the_next_try_runs(
    loom: Loom, tmp_path: Path
) -> None:
    out = tmp_path / "chain.out"
    loom.add_dag("pool_dies", DIES)
    loom.add_dag("pool_chain", CHAIN.format(out=str(out)))
    loom.reparse()
    loom.scheduler()
    loom.worker("--fork")
    loom.trigger("pool_dies", "--run-id", "d1")
    assert loom.wait_runs("pool_dies", 1, timeout=60) == {"d1": "failed"}
    attempt = loom.db.rows("SELECT state, error_type, error_message, pid FROM task_attempt")
    assert len(attempt) == 1
    assert (attempt[0].state, attempt[0].error_type) == ("failed", "Zombie")
    assert f"worker process {attempt[0].pid}" in attempt[0].error_message

    loom.trigger("pool_chain", "--run-id", "r1")
    assert loom.wait_runs("pool_chain", 1, timeout=90) == {"r1": "success"}
    assert attempt[0].pid not in {int(pid) for _, pid in _lines(out)}


def test_a_changed_dag_file_runs_its_new_code_and_then_replaces_the_child(
    loom: Loom, tmp_path: Path
) -> None:
    out = tmp_path / "versioned.out"
    loom.add_dag("pool_versioned", VERSIONED.format(version=1, out=str(out)))
    loom.reparse()
    loom.scheduler()
    loom.worker("--fork")
    loom.trigger("pool_versioned", "--run-id", "r1")
    loom.wait_runs("pool_versioned", 1, timeout=60)
    loom.add_dag("pool_versioned", VERSIONED.format(version=2, out=str(out)))
    loom.reparse()
    for number in (2, 3):
        loom.trigger("pool_versioned", "--run-id", f"r{number}")
        wait_until(lambda n=number: len(loom.db.run_states("pool_versioned")) == n, 10)
        loom.wait_runs("pool_versioned", number, timeout=60)

    (v1, p1), (v2, p2), (v3, p3) = _lines(out)
    assert (v1, v2, v3) == ("1", "2", "2")
    assert p2 == p1, "the child that imported version 1 re-imports version 2"
    assert p3 != p2, "and is replaced after that try, dropping the old module"
