"""A DAG file that does not import, with real processes: the CLI refuses to trigger it
unless forced, the scheduler starts the forced run but queues none of its tasks (no try
is spent) while the file is broken, and its parse loop notices the fix, after which the
run succeeds on its first try."""

from __future__ import annotations

import time

import pytest

from tests.support.processes import wait_until

from .conftest import Loom

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

GOOD = """
from datetime import datetime, timedelta

from engine import DAG, PythonOperator

with DAG("fragile", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(task_id="only", python_callable=lambda: "ok", retries=2,
                   retry_delay=timedelta(seconds=1))
"""

BROKEN = GOOD + "import module_that_is_not_there\n"

HELD_SECONDS = 3.0
"""How long the test watches the held task: many ticks (0.2 s) and parses (1 s)."""


def test_a_broken_file_holds_its_tasks_until_it_imports_again(loom: Loom) -> None:
    loom.add_dag("fragile", GOOD)
    loom.reparse()
    loom.add_dag("fragile", BROKEN)
    loom.reparse()
    refused = loom.cli("dags", "trigger", "fragile", "--run-id", "r1")
    assert refused.returncode != 0
    assert "DAG file does not import" in refused.stderr
    assert "module_that_is_not_there" in refused.stderr
    loom.trigger("fragile", "--run-id", "r1", "--force")
    loom.scheduler()
    loom.worker("--no-fork")

    def ti() -> tuple[str, int] | None:
        rows = loom.db.rows("SELECT state, try_number FROM task_instance WHERE task_id = 'only'")
        if not rows or rows[0].state in (None, "none"):
            return None  # the run has not started yet, or its task is not decided
        return rows[0].state, rows[0].try_number

    assert wait_until(ti, 30, what="the run to start") == ("scheduled", 0)
    time.sleep(HELD_SECONDS)
    assert ti() == ("scheduled", 0)
    assert loom.db.scalar("SELECT count(*) FROM task_attempt") == 0

    loom.add_dag("fragile", GOOD)  # the scheduler's parse loop sees the fix
    assert loom.wait_runs("fragile", 1, timeout=45) == {"r1": "success"}
    attempts = loom.db.rows("SELECT try_number, state FROM task_attempt")
    assert [(a.try_number, a.state) for a in attempts] == [(1, "success")]
