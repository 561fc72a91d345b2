"""Templating and XCom in a worker, on real databases: values of common types stored
tagged and restored as their types; prev_*_success from the previous successful run;
include_prior_dates; a script file rendered with the DAG's macros, kept per try."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.authoring.schedules import DataInterval
from engine.models import DagRun, DagRunType, XCom
from engine.services.dagversions import latest_dag_version
from engine.services.runs import create_dag_run
from engine.state import DagRunState, TaskInstanceState
from tests.workers.conftest import (
    DAG_FILES,
    Sessions,
    attempts,
    holding,
    run_first_try,
    ti_id_of,
)
from workers import RunnerContext

TI = TaskInstanceState
DAY1 = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def dags_folder(dags_folder: Path, sessions: Sessions) -> Path:
    shutil.copy(DAG_FILES / "templates_script.sh", dags_folder / "templates_script.sh")
    return holding(dags_folder, sessions, "templates.py")


def new_run(sessions: Sessions, logical_date: datetime) -> int:
    with sessions.begin() as session:
        dag, version_id = latest_dag_version(session=session, dag_id="templates")
        run = create_dag_run(
            session=session, dag=dag, dag_version_id=version_id,
            run_id=f"scheduled__{logical_date.date()}", run_type=DagRunType.SCHEDULED,
            logical_date=logical_date,
            data_interval=DataInterval(logical_date, logical_date + timedelta(days=1)),  # @daily
            conf={}, run_after=logical_date, now=logical_date,
        )  # fmt: skip
        run.state = DagRunState.RUNNING
        return run.id


def finish_run(sessions: Sessions, run_pk: int, started: datetime) -> None:
    with sessions.begin() as session:
        run = session.get_one(DagRun, run_pk)
        run.state = DagRunState.SUCCESS
        run.start_date, run.end_date = started, started + timedelta(minutes=3)


def run(sessions: Sessions, ctx: RunnerContext, run_pk: int, task_id: str) -> TI | None:
    return run_first_try(sessions, ctx, task_id, run_pk)[0]


def stored(sessions: Sessions, run_pk: int, task_id: str) -> dict[str, Any]:
    """The XComs of ``task_id`` in the run as the database holds them (JSON)."""
    with sessions() as session:
        run_id = session.get_one(DagRun, run_pk).run_id
        rows = session.scalars(
            sa.select(XCom).where(XCom.run_id == run_id, XCom.task_id == task_id)
        )
        return {row.key: row.value for row in rows}


def test_common_types_are_stored_tagged_and_come_back_as_themselves(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    pk = new_run(sessions, DAY1)
    assert run(sessions, ctx, pk, "make") is TI.SUCCESS
    values = stored(sessions, pk, "make")
    assert values["return_value"] == {"__type__": "tuple", "__value__": [
        {"__type__": "set", "__value__": ["a", "b"]},
        {"__type__": "tuple", "__value__": [1, 2]},
        {"__type__": "datetime", "__value__": "2026-01-05T06:00:00"},
    ]}  # fmt: skip
    assert values["took"] == {"__type__": "timedelta", "__value__": 300.0}
    assert values["batch"]["__value__"]["fields"] == {
        "name": "b1", "day": {"__type__": "date", "__value__": "2026-01-05"},
    }  # fmt: skip

    assert run(sessions, ctx, pk, "check") is TI.SUCCESS
    assert stored(sessions, pk, "check")["return_value"] == (
        "['set', 'tuple', 'datetime', 'Batch', 'timedelta'] 2026-01-05 ['a', 'b']"
    )


def test_prev_success_keys_describe_the_previous_successful_run(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    first = new_run(sessions, DAY1)
    assert run(sessions, ctx, first, "previous") is TI.SUCCESS
    assert set(stored(sessions, first, "previous")["return_value"].values()) == {None}
    finish_run(sessions, first, started=DAY1 + timedelta(days=1, hours=2))
    failed = new_run(sessions, DAY1 + timedelta(days=1))
    with sessions.begin() as session:
        session.get_one(DagRun, failed).state = DagRunState.FAILED  # not a success: skipped

    later = new_run(sessions, DAY1 + timedelta(days=2))
    assert run(sessions, ctx, later, "previous") is TI.SUCCESS
    assert stored(sessions, later, "previous")["return_value"] == {
        "prev_data_interval_start_success": "2026-01-05T00:00:00+00:00",
        "prev_data_interval_end_success": "2026-01-06T00:00:00+00:00",
        "prev_start_date_success": "2026-01-06T02:00:00+00:00",
        "prev_end_date_success": "2026-01-06T02:03:00+00:00",
    }


def test_include_prior_dates_reads_the_newest_earlier_value(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    counts = []
    for day in range(3):
        pk = new_run(sessions, DAY1 + timedelta(days=day))
        assert run(sessions, ctx, pk, "counter") is TI.SUCCESS
        counts.append(stored(sessions, pk, "counter")["count"])
    assert counts == [1, 2, 3]


def test_a_script_file_is_rendered_with_the_dags_macros_and_kept_per_try(
    sessions: Sessions, ctx: RunnerContext
) -> None:
    pk = new_run(sessions, DAY1)
    assert run(sessions, ctx, pk, "script") is TI.SUCCESS
    assert stored(sessions, pk, "script")["return_value"] == "data 2026-01-05 2026-01-06"
    [attempt] = attempts(sessions, ti_id_of(sessions, "script", pk))
    assert attempt.rendered["bash_command"] == 'echo "data 2026-01-05 2026-01-06"\n'
