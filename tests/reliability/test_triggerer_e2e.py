"""Deferrable tasks across real processes (PostgreSQL, Redis database 12): one triggerer
holds a thousand deferred tasks while the one worker runs other work; a triggerer killed
with ``kill -9`` loses nothing; a deferral past its timeout fails its task."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.processes import LOOM, wait_until
from tests.support.services import redis_url

from .conftest import Loom

REDIS_URL = redis_url(12)

DAG = """
from datetime import datetime, timedelta

from engine import DAG, BaseOperator, FileTrigger, PythonOperator, task

FLAG = {flag!r}


class WaitForFlag(BaseOperator):
    def __init__(self, *, n=0, timeout=None, **kwargs):
        super().__init__(**kwargs)
        self.n = n
        self.deferral_timeout = timeout

    def execute(self, context):
        self.defer(
            trigger=FileTrigger(FLAG, poke_interval=2.0),
            method_name="execute_complete",
            kwargs={{"n": self.n}},
            timeout=self.deferral_timeout,
        )

    def execute_complete(self, context, n, event=None):
        assert event is True, event
        return n * 2


with DAG("many", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def items():
        return list(range({count}))

    WaitForFlag.partial(task_id="wait").expand(n=items())


with DAG("other", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(task_id="quick", python_callable=lambda: "done")


with DAG("impatient", schedule=None, start_date=datetime(2026, 1, 1)):
    WaitForFlag(task_id="wait", timeout=timedelta(seconds=2))
"""

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def flag(tmp_path: Path) -> Path:
    return tmp_path / "side-effects" / "flag"


def _deploy(loom_on: Callable[..., Loom], flag: Path, count: int) -> Loom:
    loom = loom_on(
        REDIS_URL,
        LOOM__TRIGGERER__POLL_INTERVAL="0.5s",
        LOOM__TRIGGERER__HEARTBEAT_THRESHOLD="3s",
        LOOM__SCHEDULER__ZOMBIE_THRESHOLD="30s",
    )
    flag.parent.mkdir()
    loom.add_dag("deferrals", DAG.format(flag=str(flag), count=count))
    loom.reparse()
    return loom


def _triggerer(loom: Loom, name: str) -> subprocess.Popen[bytes]:
    return loom.processes.start([LOOM, "triggerer"], loom.env, name=name)


def _count(loom: Loom, sql: str) -> int:
    return int(loom.db.scalar(sql) or 0)


@pytest.mark.timeout(1800)  # a thousand tries deferred, then resumed, on one worker
def test_one_triggerer_holds_a_thousand_deferred_tasks_while_the_worker_runs_others(
    loom_on: Callable[..., Loom], flag: Path
) -> None:
    loom = _deploy(loom_on, flag, count=1000)
    loom.scheduler()
    loom.worker("--no-fork")
    _triggerer(loom, "triggerer")
    loom.trigger("many", "--run-id", "r1")

    deferred = "SELECT count(*) FROM task_instance WHERE task_id = 'wait' AND state = 'deferred'"
    wait_until(lambda: _count(loom, deferred) == 1000, 600, interval=1, what="1000 deferred")
    held = "SELECT count(DISTINCT triggerer_id) || ':' || count(*) FROM trigger"
    wait_until(lambda: loom.db.scalar(held) == "1:1000", 60, what="one triggerer holds all")
    assert _count(loom, "SELECT count(*) FROM task_instance WHERE state IN "
                        "('queued', 'running')") == 0  # fmt: skip

    loom.trigger("other", "--run-id", "o1")  # the worker is free: deferred tasks hold no slot
    assert loom.wait_runs("other", 1, timeout=60) == {"o1": "success"}
    assert _count(loom, deferred) == 1000

    flag.write_text("go")
    assert loom.wait_runs("many", 1, timeout=900) == {"r1": "success"}
    rows = loom.db.rows(
        "SELECT t.try_number, t.state, t.next_method FROM task_instance t WHERE task_id = 'wait'"
    )
    assert {(r.try_number, r.state, r.next_method) for r in rows} == {(1, "success", None)}
    doubled = loom.db.scalar(
        "SELECT count(*) FROM xcom WHERE task_id = 'wait' AND key = 'return_value' "
        "AND value = to_jsonb(map_index * 2)"
    )
    assert doubled == 1000
    assert _count(loom, "SELECT count(*) FROM trigger") == 0


def test_a_killed_triggerer_s_triggers_are_taken_over_by_another(
    loom_on: Callable[..., Loom], flag: Path
) -> None:
    loom = _deploy(loom_on, flag, count=5)
    loom.scheduler()
    loom.worker("--no-fork")
    first = _triggerer(loom, "triggerer-1")
    loom.trigger("many", "--run-id", "r1")
    claimed = "SELECT count(*) FROM trigger WHERE triggerer_id IS NOT NULL"
    wait_until(lambda: _count(loom, claimed) == 5, 120, what="5 triggers claimed")
    [owner] = [r.triggerer_id for r in loom.db.rows("SELECT DISTINCT triggerer_id FROM trigger")]
    assert owner.endswith(f":{first.pid}")

    loom.processes.kill9(first)
    second = _triggerer(loom, "triggerer-2")
    taken = "SELECT count(*) FROM trigger WHERE triggerer_id = :who"
    who = owner.rsplit(":", 1)[0] + f":{second.pid}"  # text(), so ':' needs a parameter
    wait_until(
        lambda: loom.db.scalar(taken, who=who) == 5, 60, what="the second triggerer takes over"
    )

    flag.write_text("go")
    assert loom.wait_runs("many", 1, timeout=120) == {"r1": "success"}


def test_a_deferral_past_its_timeout_fails_the_task(
    loom_on: Callable[..., Loom], flag: Path
) -> None:
    loom = _deploy(loom_on, flag, count=1)
    loom.scheduler()
    loom.worker("--no-fork")
    _triggerer(loom, "triggerer")
    loom.trigger("impatient", "--run-id", "r1")
    assert loom.wait_runs("impatient", 1, timeout=120) == {"r1": "failed"}
    [attempt] = loom.db.rows("SELECT state, error_type FROM task_attempt")
    assert (attempt.state, attempt.error_type) == ("failed", "TaskDeferralTimeout")
    assert _count(loom, "SELECT count(*) FROM trigger") == 0
