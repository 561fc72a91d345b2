"""``loom standalone`` killed by ``kill -9`` mid-task: its orphaned try is failed when it
starts again, not after the zombie threshold, and the try's duration is the time it ran."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.network import free_port
from tests.support.processes import LOOM, Processes, kill_tree, outside_environ, wait_until

DAG = """
import time
from datetime import datetime, timedelta
from pathlib import Path

from engine import DAG, PythonOperator

STARTED = Path({started!r})


def hang_first(ti):
    STARTED.write_text(str(ti.try_number))
    if ti.try_number == 1:
        time.sleep(3600)


with DAG("orphan", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(
        task_id="hang", python_callable=hang_first, retries=1, retry_delay=timedelta(seconds=0)
    )
"""

pytestmark = [pytest.mark.slow]


def test_a_killed_standalone_fails_its_orphaned_try_when_it_starts_again(
    processes: Processes, tmp_path: Path
) -> None:
    home, dags = tmp_path / "home", tmp_path / "dags"
    dags.mkdir()
    started = tmp_path / "started"
    (dags / "orphan.py").write_text(DAG.format(started=str(started)))
    env = {
        **outside_environ(),
        "LOOM_HOME": str(home),
        "LOOM__CORE__DAGS_FOLDER": str(dags),
        "LOOM__WEBSERVER__PORT": str(free_port()),
        "LOOM__SCHEDULER__TICK_INTERVAL": "0.2s",
        "LOOM__SCHEDULER__HEARTBEAT_INTERVAL": "0.5s",
        # Only the start-up recovery can fail the try within this test's waits.
        "LOOM__SCHEDULER__ZOMBIE_THRESHOLD": "1h",
        "PYTHONUNBUFFERED": "1",
    }
    first = processes.start([LOOM, "standalone"], env, name="standalone-1")
    engine = sa.create_engine(f"sqlite:///{home / 'loom.db'}", poolclass=sa.pool.NullPool)

    def rows(sql: str) -> list[sa.Row[object]]:
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.text(sql)))
        except sa.exc.OperationalError:  # not migrated yet
            return []

    wait_until(lambda: rows("SELECT 1 FROM dag WHERE dag_id = 'orphan'"), 60, what="parsed")
    trigger = processes.start([LOOM, "dags", "trigger", "orphan", "--run-id", "r1"], env)
    assert trigger.wait(60) == 0
    wait_until(lambda: started.exists(), 60, what="try 1 inside the task")
    wait_until(
        lambda: rows("SELECT 1 FROM task_instance WHERE last_heartbeat_at IS NOT NULL"),
        10,
        what="a heartbeat",
    )
    kill_tree(first)  # SIGKILL to standalone and its worker processes alike
    first.wait(10)
    killed_at = datetime.now(UTC)
    [before] = rows("SELECT state, try_number, pid FROM task_instance")
    assert (before.state, before.try_number) == ("running", 1)

    processes.start([LOOM, "standalone"], env, name="standalone-2")
    try:
        wait_until(
            lambda: rows("SELECT 1 FROM dag_run WHERE state = 'success'"), 60,
            what="the run to succeed",
        )  # fmt: skip
    except AssertionError as timed_out:
        stat = Path(f"/proc/{before.pid}/stat")
        old_process = stat.read_text() if stat.exists() else "gone"
        raise AssertionError(
            f"{timed_out}; task instances now {rows('SELECT * FROM task_instance')};"
            f" the killed try's process {before.pid}: {old_process}"
        ) from None

    one, two = rows(
        "SELECT try_number, state, error_type, error_message, start_date, end_date, pid "
        "FROM task_attempt ORDER BY try_number"
    )
    assert (one.try_number, one.state, one.error_type) == (1, "up_for_retry", "Zombie")
    assert f"its process {before.pid}" in one.error_message
    assert "is gone" in one.error_message
    assert (two.try_number, two.state) == (2, "success")
    ended = datetime.fromisoformat(str(one.end_date)).replace(tzinfo=UTC)
    assert ended <= killed_at, "try 1 was recorded as running until it was found dead"
    assert started.read_text() == "2"
