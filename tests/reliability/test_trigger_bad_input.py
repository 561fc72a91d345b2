"""``loom dags trigger`` against PostgreSQL: bad input is a clear error and changes nothing."""

from __future__ import annotations

import pytest

from .conftest import Loom

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DAGS = """
from datetime import datetime

from engine import DAG, EmptyOperator, Param

with DAG(
    "sized", schedule=None, start_date=datetime(2026, 1, 1),
    params={"size": Param(1, type="integer", minimum=1), "region": "eu"},
) as sized:
    EmptyOperator(task_id="only")

with DAG("resting", schedule=None, start_date=datetime(2026, 1, 1)) as resting:
    EmptyOperator(task_id="only")
"""

CASES = [
    (["nope"], "no active DAG 'nope'"),
    (["sized", "--conf", "{not json"], "--conf is not valid JSON"),
    (["sized", "--conf", "[1, 2]"], "--conf must be a JSON object"),
    (["sized", "--conf", '{"size": "large"}'], "param 'size' must be of type integer"),
    (["sized", "--conf", '{"size": 0}'], "param 'size' must be at least 1"),
    (
        ["sized", "--conf", '{"size": 0, "region": 7}'],
        "\n  conf.size: must be at least 1\n  conf.region: must be of type string, got int",
    ),
    (["sized", "--run-id", "taken"], "already has a run 'taken'"),
    (["sized", "--delay", "5 parsecs"], "'5 parsecs' is not a duration"),
    (["sized", "--at", "yesterday-ish"], "is not an ISO date"),
    (["sized", "--at", "2026-01-01T00:00:00Z", "--delay", "5m"], "give --at or --delay, not both"),
]


def test_bad_triggers_fail_clearly_and_change_nothing(loom: Loom) -> None:
    loom.add_dag("dags", DAGS)
    loom.reparse()
    paused = loom.cli("dags", "pause", "resting")
    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert "Created run taken of sized" in loom.trigger("sized", "--run-id", "taken")

    def snapshot() -> list[tuple[str, str, str]]:
        rows = loom.db.rows("SELECT dag_id, run_id, state FROM dag_run ORDER BY id")
        return [(r.dag_id, r.run_id, r.state) for r in rows]

    before = snapshot()
    assert before == [("sized", "taken", "queued")]
    tis = loom.db.scalar("SELECT count(*) FROM task_instance")
    for args, needle in CASES:
        result = loom.cli("dags", "trigger", *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("Error: "), (args, result.stderr)
        assert needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert result.stdout == "", (args, result.stdout)
        assert snapshot() == before, args
    assert loom.db.scalar("SELECT count(*) FROM task_instance") == tis
