"""Schedulers that die (``kill -9``) or run side by side: no run twice, no try twice, none lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.processes import wait_until

from .conftest import Loom

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

CATCHUP_DAG = """
import time
from datetime import datetime

from engine import DAG, CronDataIntervalTimetable, PythonOperator


def nap():
    time.sleep(0.4)


with DAG(
    "catchup",
    schedule=CronDataIntervalTimetable("@daily"),
    start_date=datetime.fromisoformat({start!r}),
    catchup=True,
) as dag:
    PythonOperator(task_id="a", python_callable=nap) >> PythonOperator(
        task_id="b", python_callable=nap
    )
"""


def _days_ago(days: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)


def _due_daily_runs(start: datetime) -> int:
    """Complete daily intervals from ``start`` to now (the runs a catchup DAG is owed)."""
    return (datetime.now(UTC) - start).days


def test_a_scheduler_killed_mid_run_and_restarted_loses_and_duplicates_nothing(
    loom: Loom,
) -> None:
    start = _days_ago(6)
    loom.add_dag("catchup", CATCHUP_DAG.format(start=start.isoformat()))
    loom.reparse()
    loom.worker("--no-fork", "--concurrency", "2")
    first = loom.scheduler("scheduler-1")
    wait_until(lambda: loom.db.scalar("SELECT count(*) FROM dag_run"), 20, what="a first run")
    loom.processes.kill9(first)  # while creating and starting the catchup runs

    second = loom.scheduler("scheduler-2")
    wait_until(
        lambda: loom.db.scalar("SELECT count(*) FROM task_instance WHERE state = 'success'"),
        30,
        what="a first finished task",
    )
    unfinished = loom.db.scalar("SELECT count(*) FROM dag_run WHERE state <> 'success'")
    assert unfinished, "the scheduler should die with work in flight"
    loom.processes.kill9(second)  # mid-run: tasks queued and running

    loom.scheduler("scheduler-3")
    expected = _due_daily_runs(start)
    states = loom.wait_runs("catchup", expected, timeout=45)
    assert _due_daily_runs(start) == expected, "the UTC date changed during the test"
    runs = loom.db.rows("SELECT run_id, logical_date, state FROM dag_run")
    assert len(runs) == expected == 6
    assert len({r.run_id for r in runs}) == len({r.logical_date for r in runs}) == expected
    assert set(states.values()) == {"success"}
    assert {r.logical_date for r in runs} == {start + timedelta(days=n) for n in range(expected)}
    tries = loom.db.rows(
        "SELECT ti.id, ti.state, ti.try_number, count(a.id) AS attempts FROM task_instance ti "
        "LEFT JOIN task_attempt a ON a.task_instance_id = ti.id GROUP BY ti.id"
    )
    assert len(tries) == 2 * expected
    assert {(t.state, t.try_number, t.attempts) for t in tries} == {("success", 1, 1)}


WIDE_DAG = """
from datetime import datetime

from engine import DAG, CronDataIntervalTimetable, EmptyOperator

with DAG(
    "wide",
    schedule=CronDataIntervalTimetable("@daily"),
    start_date=datetime.fromisoformat({start!r}),
    catchup=True,
    max_active_runs={runs},
    max_active_tasks={tasks},
) as dag:
    for n in range({tasks}):
        EmptyOperator(task_id=f"t{{n:02d}}")
"""

RUNS, TASKS = 20, 50


def test_two_schedulers_side_by_side_run_every_try_exactly_once(loom: Loom) -> None:
    """20 catchup runs of 50 independent tasks (1000 tries), two schedulers, two workers.

    The full size of the issue; on a 2-core machine it takes 25-40 s (the deadline
    below leaves room for a loaded machine).
    """
    start = _days_ago(RUNS)
    loom.env["LOOM__SCHEDULER__PARALLELISM"] = "200"
    loom.add_dag("wide", WIDE_DAG.format(start=start.isoformat(), runs=RUNS, tasks=TASKS))
    loom.reparse()
    for n in (1, 2):
        loom.worker("--no-fork", "--concurrency", "2", name=f"worker-{n}")
    schedulers = [loom.scheduler(f"scheduler-{n}") for n in (1, 2)]

    expected = _due_daily_runs(start)
    states = loom.wait_runs("wide", expected, timeout=80)
    assert expected == RUNS
    assert len(states) == RUNS
    assert set(states.values()) == {"success"}
    tries = loom.db.rows(
        "SELECT ti.state, ti.try_number, count(a.id) AS attempts, "
        "count(a.id) FILTER (WHERE a.state = 'success') AS succeeded "
        "FROM task_instance ti LEFT JOIN task_attempt a ON a.task_instance_id = ti.id "
        "GROUP BY ti.id"
    )
    assert len(tries) == RUNS * TASKS
    assert {(t.state, t.try_number, t.attempts, t.succeeded) for t in tries} == {
        ("success", 1, 1, 1)
    }
    assert loom.db.scalar("SELECT count(*) FROM task_attempt") == RUNS * TASKS
    assert [s.poll() for s in schedulers] == [None, None], "both schedulers ran throughout"
