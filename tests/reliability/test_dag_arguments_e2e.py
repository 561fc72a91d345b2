"""DAG callbacks and fail_fast with real processes: ``loom scheduler`` (with its outbox
relay) and ``loom worker`` on PostgreSQL and Redis database 6 (this module's own).

The scheduler never runs a DAG callback: it writes the request with the run's end, and
the worker imports the DAG file and calls it. The callbacks here write files, so the
test sees that they ran, where (the worker's process) and with which run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.conftest import Loom, loom_on_redis
from tests.support.processes import wait_until
from tests.support.services import redis_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

loom = loom_on_redis(redis_url(6), LOOM__SCHEDULER__HEARTBEAT_INTERVAL="0.3s")


CALLBACK_DAG = """
import json, os
from datetime import datetime
from pathlib import Path
from engine import DAG, BashOperator

OUT = Path({out!r})

def note(context):
    # Who called, for which run, and why: one file per call.
    record = {{"run_id": context["run_id"], "dag_run_id": context["dag_run"].run_id,
              "reason": context["reason"], "pid": os.getpid(), "ds": context["ds"]}}
    (OUT / (context["run_id"] + "." + context["reason"])).write_text(json.dumps(record))

def broken(context):
    raise RuntimeError("a callback that fails changes nothing")

with DAG("called", schedule=None, start_date=datetime(2026, 1, 1),
         on_success_callback=[broken, note], on_failure_callback=note):
    BashOperator(task_id="t", bash_command='test "{{{{ dag_run.conf.get("ok", 1) }}}}" = 1')
"""


def test_dag_callbacks_run_on_the_worker_for_success_and_failure(
    loom: Loom, tmp_path: Path
) -> None:
    out = tmp_path / "callbacks"
    out.mkdir()
    loom.add_dag("called", CALLBACK_DAG.format(out=str(out)))
    loom.reparse()
    scheduler = loom.scheduler()
    loom.worker()
    loom.trigger("called", "--run-id", "good")
    loom.trigger("called", "--run-id", "bad", "--conf", json.dumps({"ok": 0}))
    assert loom.wait_runs("called", 2, timeout=90) == {"good": "success", "bad": "failed"}

    wait_until(lambda: len(list(out.iterdir())) == 2, 60, what="both callbacks' files")
    good = json.loads((out / "good.success").read_text())
    bad = json.loads((out / "bad.task_failure").read_text())
    assert good["run_id"] == good["dag_run_id"] == "good"
    assert len(good["ds"]) == len("2026-01-01")  # the run's template values are there too
    assert bad["run_id"] == bad["dag_run_id"] == "bad"
    # User code ran in the worker, never in the scheduler; the failing callback changed
    # nothing (the run stayed a success, the next callback still ran).
    assert scheduler.pid not in {good["pid"], bad["pid"]}
    assert loom.db.run_states("called") == {"good": "success", "bad": "failed"}
    requests = loom.db.rows(
        "SELECT payload, state FROM outbox WHERE kind = 'dag_callback' ORDER BY id"
    )
    assert [row.state for row in requests] == ["delivered", "delivered"]


FAIL_FAST_DAG = """
from datetime import datetime
from engine import DAG, BashOperator

with DAG("fast", schedule=None, start_date=datetime(2026, 1, 1), fail_fast=True):
    BashOperator(task_id="boom", bash_command="sleep 1; exit 1")
    slow = BashOperator(task_id="slow", bash_command="sleep 60")
    slow >> BashOperator(task_id="after", bash_command="true")
"""


def test_a_fail_fast_run_stops_its_running_task_on_a_real_worker(loom: Loom) -> None:
    loom.add_dag("fast", FAIL_FAST_DAG)
    loom.reparse()
    loom.scheduler()
    loom.worker("--concurrency", "2")
    loom.trigger("fast", "--run-id", "r")
    # Far less than the 60 s the slow task would take: the run ended without it.
    assert loom.wait_runs("fast", 1, timeout=45) == {"r": "failed"}
    states = {
        row.task_id: row.state
        for row in loom.db.rows("SELECT task_id, state FROM task_instance WHERE dag_id = 'fast'")
    }
    assert states == {"boom": "failed", "slow": "failed", "after": "skipped"}
