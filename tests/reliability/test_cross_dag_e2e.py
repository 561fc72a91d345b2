"""A DAG that triggers another and waits for it, on real processes: ``loom scheduler`` and
three ``loom worker``s on PostgreSQL and Redis database 1 (this module's own).

The controller's worker creates the target's run through the run service; the scheduler
runs it like any manual run; the controller's try waits for its end and takes its state.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import Loom, loom_on_redis
from tests.support.services import redis_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

loom = loom_on_redis(redis_url(1))


TARGET = """
from datetime import datetime
from engine import DAG, BashOperator

with DAG("target", schedule=None, start_date=datetime(2026, 1, 1), params={"size": 1}):
    BashOperator(
        task_id="work",
        bash_command='echo "size {{ params.size }}"; test "{{ params.size }}" -lt 10',
    )
"""

CONTROLLER = """
from datetime import datetime
from engine import DAG, TriggerDagRunOperator

# Native rendering: the conf's templated size stays a number (the target's param is one).
with DAG("controller", schedule=None, start_date=datetime(2026, 1, 1),
         render_template_as_native_obj=True):
    TriggerDagRunOperator(
        task_id="start_target",
        trigger_dag_id="target",
        trigger_run_id="from_{{ run_id }}",
        conf={"size": "{{ dag_run.conf.get('size', 3) }}"},
        wait_for_completion=True,
        poke_interval=0.5,
    )
"""


def test_a_triggered_run_is_waited_for_and_its_end_decides(loom: Loom) -> None:
    loom.add_dag("target", TARGET)
    loom.add_dag("controller", CONTROLLER)
    loom.reparse()
    loom.cli("dags", "unpause", "target")
    loom.cli("dags", "unpause", "controller")
    loom.scheduler()
    # Each waiting controller holds a worker for its whole try: two controllers may both
    # be taken before either target is, so a third worker is left for the targets.
    for name in ("worker-1", "worker-2", "worker-3"):
        loom.worker(name=name)
    loom.trigger("controller", "--run-id", "small")
    loom.trigger("controller", "--run-id", "big", "--conf", '{"size": 50}')

    assert loom.wait_runs("controller", 2, timeout=120) == {"small": "success", "big": "failed"}
    assert loom.db.run_states("target") == {"from_small": "success", "from_big": "failed"}
    rows = loom.db.rows(
        "SELECT run_id, conf, triggered_by FROM dag_run WHERE dag_id = 'target' ORDER BY run_id"
    )
    assert [(row.run_id, row.conf, row.triggered_by) for row in rows] == [
        ("from_big", {"size": 50}, "controller.big.start_target"),
        ("from_small", {"size": 3}, "controller.small.start_target"),
    ]
    pushed = loom.db.scalar(
        "SELECT value FROM xcom WHERE dag_id = 'controller' AND run_id = 'small' "
        "AND key = 'trigger_run_id'"
    )
    assert pushed == "from_small"
