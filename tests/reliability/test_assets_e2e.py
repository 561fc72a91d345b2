"""Assets across real processes: ``loom scheduler`` and ``loom worker`` on PostgreSQL and
Redis database 13. DAG A's outlet makes a run of DAG B; DAG C, scheduled on ``a & b``,
waits until an event of ``b`` POSTed to the API (from an external system) joins A's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.security.users import create_user
from tests.reliability.conftest import Loom
from tests.support.database import database_sessions
from tests.support.processes import wait_until
from tests.webui.conftest import app_for, bearer, login
from webui.db import dispose

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

DAGS = """
from datetime import datetime
from engine import DAG, Asset, PythonOperator

A = Asset("s3://e2e/a")
B = Asset("s3://e2e/b")


def produce(outlet_events):
    outlet_events[A].extra = {"rows": 42}


def consume(triggering_asset_events):
    found = triggering_asset_events.items()
    return {asset.uri: [e.extra for e in events] for asset, events in found}


with DAG("dag_a", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(task_id="produce", python_callable=produce, outlets=[A])

with DAG("dag_b", schedule=[A]):
    PythonOperator(task_id="consume", python_callable=consume)

with DAG("dag_c", schedule=A & B):
    PythonOperator(task_id="consume", python_callable=consume)
"""


def returned(loom: Loom, dag_id: str) -> Any:
    return loom.db.scalar(
        "SELECT value FROM xcom WHERE dag_id = :d AND task_id = 'consume' AND key = 'return_value'",
        d=dag_id,
    )


def runs_of(loom: Loom, dag_id: str) -> list[Any]:
    return loom.db.rows(
        "SELECT run_id, run_type, state FROM dag_run WHERE dag_id = :d ORDER BY id", d=dag_id
    )


def test_an_outlet_and_a_posted_event_trigger_the_consumers(
    loom: Loom, postgres_url: str, tmp_path: Path
) -> None:
    loom.add_dag("assets", DAGS)
    loom.reparse()
    for dag_id in ("dag_a", "dag_b", "dag_c"):
        loom.cli("dags", "unpause", dag_id)
    loom.worker("--no-fork", "--concurrency", "2")
    loom.scheduler()
    loom.trigger("dag_a")

    assert set(loom.wait_runs("dag_b", 1, timeout=60).values()) == {"success"}
    [b_run] = runs_of(loom, "dag_b")
    assert b_run.run_type == "asset_triggered"
    assert b_run.run_id.startswith("asset_triggered__")
    assert returned(loom, "dag_b") == {"s3://e2e/a": [{"rows": 42}]}
    # dag_c was queued by the same event, in the same transaction: a alone is not enough.
    assert runs_of(loom, "dag_c") == []
    queued = loom.db.rows("SELECT asset_id FROM asset_dag_run_queue WHERE target_dag_id = 'dag_c'")
    assert len(queued) == 1

    with database_sessions(postgres_url) as sessions, sessions.begin() as session:
        create_user(
            session=session, username="feeder", password="feeder-pass-1234", role_names=["User"]
        )
    app = app_for(postgres_url, tmp_path, loom.dags_folder)
    try:
        client = app.test_client()
        headers = bearer(login(client, "feeder", "feeder-pass-1234")["access_token"])
        b_id = loom.db.scalar("SELECT id FROM asset WHERE uri = 's3://e2e/b'")
        posted = client.post(
            "/api/v2/assets/events",
            json={"asset_id": b_id, "extra": {"from": "outside"}},
            headers=headers,
        )
    finally:
        dispose(app)  # the webui tests' fixture that would close it is not active here
    assert posted.status_code == 200, posted.get_json()

    assert set(loom.wait_runs("dag_c", 1, timeout=60).values()) == {"success"}
    [c_run] = runs_of(loom, "dag_c")
    assert c_run.run_type == "asset_triggered"
    assert returned(loom, "dag_c") == {
        "s3://e2e/a": [{"rows": 42}],
        "s3://e2e/b": [{"from": "outside"}],
    }
    assert len(runs_of(loom, "dag_b")) == 1  # b is not dag_b's asset
    wait_until(
        lambda: loom.db.scalar("SELECT count(*) FROM asset_dag_run_queue") == 0,
        10,
        what="every queued event consumed",
    )
