"""Airflow's official client on /api/v2's backfills: dry run, create, list, get, pause,
unpause and cancel, with the scheduler's start step honouring the backfill's own
``max_active_runs``, its pause and its run order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from airflow_client import client as airflow
from airflow_client.client.exceptions import ApiException
from flask import Flask

from engine.models import DagRun
from engine.scheduling.dagruns import start_queued_runs
from engine.services.backfill import complete_finished_backfills
from engine.state import DagRunState
from tests.support.database import database_sessions
from tests.webui.api_v2.conftest import app_with_dag_file

DAILY = """
from datetime import datetime
from engine import DAG, EmptyOperator

with DAG("daily", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
         max_active_runs=1):
    EmptyOperator(task_id="only")
"""

JAN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def app(template: Path, tmp_path: Path) -> Flask:
    return app_with_dag_file(template, tmp_path, "daily.py", DAILY)


def body(**changes: object) -> airflow.BackfillPostBody:
    fields: dict[str, object] = {
        "dag_id": "daily",
        "from_date": JAN,
        "to_date": datetime(2026, 1, 5, tzinfo=UTC),
        "max_active_runs": 2,
    }
    return airflow.BackfillPostBody(**{**fields, **changes})


def start_runs(app: Flask) -> list[str]:
    """The scheduler's start step; the logical dates (days) it started of ``daily``."""
    url = app.extensions["loom.settings"].database.url
    with database_sessions(url) as sessions, sessions.begin() as session:
        started = start_queued_runs(session=session, now=datetime.now(UTC))
        return [run.logical_date.strftime("%d") for run in started if run.dag_id == "daily"]


def finish_running(app: Flask) -> None:
    url = app.extensions["loom.settings"].database.url
    with database_sessions(url) as sessions, sessions.begin() as session:
        session.execute(
            sa.update(DagRun)
            .where(DagRun.dag_id == "daily", DagRun.state == DagRunState.RUNNING)
            .values(state=DagRunState.SUCCESS)
        )
        complete_finished_backfills(session=session, now=datetime.now(UTC))


def test_dry_run_lists_the_dates_and_changes_nothing(admin: airflow.ApiClient) -> None:
    api = airflow.BackfillApi(admin)
    planned = api.create_backfill_dry_run(body(run_backwards=True))
    assert [b.logical_date.day for b in planned.backfills] == [5, 4, 3, 2, 1]
    assert api.list_backfills("daily").total_entries == 0


def test_a_backfill_runs_within_its_own_limit_and_pause(
    app: Flask, admin: airflow.ApiClient
) -> None:
    api = airflow.BackfillApi(admin)
    made = api.create_backfill(body())
    assert (made.dag_id, made.max_active_runs, made.is_paused) == ("daily", 2, False)
    assert made.reprocess_behavior == airflow.ReprocessBehavior.NONE
    assert [b.id for b in api.list_backfills("daily").backfills] == [made.id]
    # the DAG's max_active_runs is 1; the backfill's own limit, 2, applies to its runs
    assert start_runs(app) == ["01", "02"]
    assert start_runs(app) == []
    assert api.pause_backfill(made.id).is_paused is True
    finish_running(app)
    assert start_runs(app) == []  # paused: nothing new starts
    api.unpause_backfill(made.id)
    assert start_runs(app) == ["03", "04"]
    with pytest.raises(ApiException) as raised:
        api.create_backfill(body())
    assert raised.value.status == 409  # one backfill in progress per DAG


def test_cancel_fails_the_runs_not_started_and_completes(
    app: Flask, admin: airflow.ApiClient
) -> None:
    api = airflow.BackfillApi(admin)
    made = api.create_backfill(body(run_backwards=True))
    assert start_runs(app) == ["05", "04"]
    cancelled = api.cancel_backfill(made.id)
    assert (cancelled.is_paused, cancelled.completed_at is not None) == (True, True)
    runs = airflow.DagRunApi(admin).get_dag_runs("daily", order_by=["logical_date"]).dag_runs
    assert [r.state for r in runs] == ["failed", "failed", "failed", "running", "running"]
    with pytest.raises(ApiException) as raised:
        api.pause_backfill(made.id)
    assert raised.value.status == 409


def test_reprocess_behavior_reruns_failed_runs(app: Flask, admin: airflow.ApiClient) -> None:
    api = airflow.BackfillApi(admin)
    first = api.create_backfill(body(to_date=datetime(2026, 1, 2, tzinfo=UTC)))
    api.cancel_backfill(first.id)  # both runs failed before starting
    planned = api.create_backfill_dry_run(body(to_date=datetime(2026, 1, 2, tzinfo=UTC)))
    assert planned.total_entries == 0  # reprocess "none": dates with a run are left alone
    again = body(to_date=datetime(2026, 1, 2, tzinfo=UTC), reprocess_behavior="failed")
    assert api.create_backfill_dry_run(again).total_entries == 2
    api.create_backfill(again)
    runs = airflow.DagRunApi(admin).get_dag_runs("daily").dag_runs
    assert sorted(r.state for r in runs) == ["queued", "queued"]


def test_finished_backfills_are_completed(app: Flask, admin: airflow.ApiClient) -> None:
    api = airflow.BackfillApi(admin)
    made = api.create_backfill(body(to_date=JAN))
    start_runs(app)
    finish_running(app)
    assert api.get_backfill(made.id).completed_at is not None


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"dag_id": "nope"}, 404),
        ({"to_date": datetime(2025, 1, 1, tzinfo=UTC)}, 422),
        ({"dag_id": "example"}, 422),  # no schedule to backfill
    ],
)
def test_bad_backfills_are_refused(
    admin: airflow.ApiClient, changes: dict[str, object], status: int
) -> None:
    with pytest.raises(ApiException) as raised:
        airflow.BackfillApi(admin).create_backfill(body(**changes))
    assert raised.value.status == status


def test_viewers_read_but_may_not_backfill(
    client_as: Callable[[str], airflow.ApiClient],
) -> None:
    api = airflow.BackfillApi(client_as("Viewer"))
    assert api.list_backfills("daily").total_entries == 0
    with pytest.raises(ApiException) as raised:
        api.create_backfill(body())
    assert raised.value.status == 403
