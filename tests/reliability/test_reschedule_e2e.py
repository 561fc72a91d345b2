"""Sensors in ``mode="reschedule"`` on real processes: ``loom scheduler`` and ONE
``loom worker`` (one slot) on PostgreSQL and Redis database 2 (this module's own).

While the sensor waits between pokes it holds no slot: the DAG's other task runs and
finishes on the same single worker, which is what the sensor waits for. A sensor that
never finds its condition times out counting from its first poke, fails without retrying
and used one try.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import Loom, loom_on_redis
from tests.support.services import redis_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

loom = loom_on_redis(redis_url(2))


GATE = """
from datetime import datetime
from pathlib import Path

from engine import DAG, PythonOperator, PythonSensor

FLAG = Path({flag!r})

# max_active_tasks=1 and one worker: "open_gate" can only run in a slot the sensor freed.
with DAG("gate", schedule=None, start_date=datetime(2026, 1, 1), max_active_tasks=1):
    PythonSensor(
        task_id="wait", python_callable=FLAG.exists, mode="reschedule", poke_interval=1,
        timeout=120, priority_weight=10,
    )
    PythonOperator(task_id="open_gate", python_callable=FLAG.touch, priority_weight=1)
"""

NEVER = """
from datetime import datetime

from engine import DAG, PythonSensor

with DAG("never", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonSensor(
        task_id="wait", python_callable=lambda: False, mode="reschedule", poke_interval=0.5,
        timeout=2, retries=2,
    )
"""


def _start(loom: Loom, dag_id: str, source: str) -> None:
    loom.add_dag(dag_id, source)
    loom.reparse()
    loom.scheduler()
    loom.worker("--no-fork")  # one worker process: one slot
    loom.trigger(dag_id, "--run-id", "r1")


def _instances(loom: Loom, dag_id: str) -> dict[str, Any]:
    rows = loom.db.rows(
        "SELECT id, task_id, state, try_number, max_tries, first_poke_at, poke_count,"
        " start_date, end_date FROM task_instance WHERE dag_id = :d", d=dag_id,
    )  # fmt: skip
    return {row.task_id: row for row in rows}


def _attempts(loom: Loom, ti_id: int) -> list[Any]:
    return loom.db.rows(
        "SELECT try_number, state, error_type, log FROM task_attempt"
        " WHERE task_instance_id = :t ORDER BY try_number", t=ti_id,
    )  # fmt: skip


def test_a_waiting_sensor_frees_its_slot_for_the_task_it_waits_for(
    loom: Loom, tmp_path: Path
) -> None:
    _start(loom, "gate", GATE.format(flag=str(tmp_path / "gate.flag")))

    assert loom.wait_runs("gate", 1, timeout=60) == {"r1": "success"}
    tis = _instances(loom, "gate")
    wait, gate = tis["wait"], tis["open_gate"]
    assert (wait.state, gate.state) == ("success", "success")
    # The sensor poked first, waited up_for_reschedule while open_gate ran, then succeeded.
    assert wait.first_poke_at < gate.start_date
    assert gate.end_date < wait.end_date
    assert wait.poke_count >= 1
    [attempt] = _attempts(loom, wait.id)
    assert (attempt.try_number, attempt.state) == (1, "success")
    log = attempt.log
    assert "poke 1 of sensor wait" in log
    assert "Task rescheduled: next poke at" in log
    assert f"poke {wait.poke_count + 1} of sensor wait" in log


def test_a_sensor_times_out_across_reschedules_without_a_retry(loom: Loom) -> None:
    _start(loom, "never", NEVER)

    assert loom.wait_runs("never", 1, timeout=60) == {"r1": "failed"}
    wait = _instances(loom, "never")["wait"]
    assert (wait.state, wait.try_number, wait.max_tries) == ("failed", 1, 3)
    assert wait.poke_count >= 2
    [attempt] = _attempts(loom, wait.id)
    assert (attempt.state, attempt.error_type) == ("failed", "SensorTimeout")
